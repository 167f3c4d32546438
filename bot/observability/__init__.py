"""Operations: structured logs with the job id, Prometheus metrics and the health endpoint.

Import the modules themselves (``bot.observability.logging`` ...): the jobs layer only needs
``job_context`` and should not load aiohttp and prometheus-client to get it.
"""
