"""The embedded local provider: a diffusers pipeline rendered in a worker process.

Nothing here imports torch or diffusers at module level: they take seconds to import and
are only needed inside the worker process (``engine`` and the modules it imports).
"""
