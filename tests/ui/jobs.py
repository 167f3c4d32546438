"""A Job record builder for rendering tests."""

from __future__ import annotations

import json
from typing import Any

from bot.model import Job, JobKind, JobState, SpeedMode, encode_buttons, encode_urls


def make_job(**changes: Any) -> Job:
    """A plausible job record with ``changes`` applied.

    ``params``, ``provider_buttons`` and ``result_urls`` are given decoded and stored as the
    store stores them.
    """
    fields: dict[str, Any] = {
        "id": 42,
        "guild_id": 1,
        "channel_id": 2,
        "user_id": 3,
        "kind": JobKind.IMAGINE,
        "action": None,
        "action_index": 0,
        "parent_id": None,
        "prompt": "a red fox --seed 7",
        "params": {},
        "seed": 7,
        "seed_explicit": False,
        "speed": SpeedMode.FAST,
        "cost": 1000,
        "state": JobState.QUEUED,
        "provider_task_id": None,
        "provider_buttons": (),
        "progress": 0,
        "preview_url": None,
        "status_message_id": None,
        "result_message_id": None,
        "result_urls": (),
        "failure_kind": None,
        "failure_message": None,
        "queue_position": None,
        "created_at": 0.0,
        "started_at": None,
        "finished_at": None,
        "attempts": 0,
    }
    fields.update(changes)
    fields["params_json"] = json.dumps(fields.pop("params"), sort_keys=True)
    fields["buttons_json"] = encode_buttons(fields.pop("provider_buttons"))
    fields["result_urls_json"] = encode_urls(fields.pop("result_urls"))
    return Job(**fields)
