"""A loopback midjourney-proxy server with deterministic task progress and fault injection.

Tasks move only when the test says so (``await fake.advance(task_id)``, ``complete``,
``complete_all``) or, for benchmarks, on a timed clock (``start_clock``), so tests never
sleep. The default flavour is trueai's superset (buttons, ``submit/action``,
``list-by-condition``/``list-by-ids``, cancel); ``novicezk=True`` serves the open-source
subset (``submit/change`` only, per-task fetch, no buttons, no cancel).
"""

from tests.fakes.midjourney_proxy.server import FakeMidjourneyProxy
from tests.fakes.midjourney_proxy.tasks import PROGRESS_STEPS, FakeTask, png_bytes

__all__ = ["PROGRESS_STEPS", "FakeMidjourneyProxy", "FakeTask", "png_bytes"]
