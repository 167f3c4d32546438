"""Task JSON (from fetch, list-by-condition or a notifyHook POST) as a ``TaskState``."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.model import ProviderButton
from bot.providers.base import TaskState, TaskStatus
from bot.providers.midjourney.buttons import classify_custom_id
from bot.providers.midjourney.codes import classify_failure

log = logging.getLogger(__name__)

_PERCENT = re.compile(r"(\d{1,3})")


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _progress(value: Any, status: TaskStatus) -> int:
    if status is TaskStatus.SUCCESS:
        return 100
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(0, min(100, int(value)))
    if isinstance(value, str) and (match := _PERCENT.search(value)):
        return max(0, min(100, int(match.group(1))))
    return 0


def _status(value: Any) -> TaskStatus:
    try:
        return TaskStatus(str(value).upper())
    except ValueError:
        # An unknown status must not read as "forgotten": keep tracking the task.
        log.warning("provider sent an unknown task status %r; treating it as submitted", value)
        return TaskStatus.SUBMITTED


def _buttons(value: Any) -> tuple[ProviderButton, ...]:
    if not isinstance(value, list):
        return ()
    buttons = []
    for item in value:
        if not isinstance(item, Mapping) or not (custom_id := _text(item.get("customId"))):
            continue
        style, kind = item.get("style"), item.get("type")
        action, index = classify_custom_id(custom_id) or (None, 0)
        buttons.append(
            ProviderButton(
                custom_id=custom_id,
                action=action,
                index=index,
                label=_text(item.get("label")) or "",
                emoji=_text(item.get("emoji")) or "",
                style=style if isinstance(style, int) else 2,
                type=kind if isinstance(kind, int) else 2,
            )
        )
    return tuple(buttons)


def _image_urls(value: Any, origin: str | None) -> tuple[str, ...]:
    # trueai sends either plain strings or objects with a ``url``.
    if not isinstance(value, list):
        return ()
    urls = []
    for item in value:
        url = _text(item.get("url")) if isinstance(item, Mapping) else _text(item)
        if resolved := absolute_url(url, origin):
            urls.append(resolved)
    return tuple(urls)


def provider_origin(base_url: str) -> str:
    """``scheme://host[:port]`` of the provider, without credentials, for relative image URLs."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def absolute_url(url: str | None, origin: str | None) -> str | None:
    """An http(s) URL Discord and the downloader can use; None for anything else.

    Self-hosted proxies often answer ``/attachments/...`` paths: those are resolved against
    the provider's origin. Other schemes (``data:``, ``file:``) are dropped.
    """
    if url is None:
        return None
    if url.startswith("//") and origin is not None:
        return f"{origin.partition(':')[0]}:{url}"
    if url.startswith("/") and origin is not None:
        return f"{origin}{url}"
    return url if url.startswith(("https://", "http://")) else None


def parse_task(data: Any, *, origin: str | None = None) -> TaskState | None:
    """One task object as a ``TaskState``; None when it has no id (unusable).

    ``origin`` (see ``provider_origin``) resolves relative image and preview URLs.
    """
    if not isinstance(data, Mapping) or not (task_id := _text(data.get("id"))):
        return None
    status = _status(data.get("status"))
    image_url = absolute_url(_text(data.get("imageUrl")), origin)
    failure_kind = failure_message = banned_word = None
    if status is TaskStatus.FAILURE:
        failure_kind, failure_message, banned_word = classify_failure(_text(data.get("failReason")))
    elif status is TaskStatus.CANCEL:
        failure_kind, failure_message, banned_word = classify_failure("cancelled by the provider")
    done = status is TaskStatus.SUCCESS
    return TaskState(
        task_id=task_id,
        status=status,
        progress=_progress(data.get("progress"), status),
        state=_text(data.get("state")),
        preview_url=None if done else image_url,
        image_url=image_url if done else None,
        image_urls=_image_urls(data.get("imageUrls"), origin) if done else (),
        buttons=_buttons(data.get("buttons")),
        failure_kind=failure_kind,
        failure_message=failure_message,
        banned_word=banned_word,
        seed=_text(data.get("seed")),
    )


def parse_task_list(data: Any, *, origin: str | None = None) -> list[TaskState]:
    """A list of task objects; unusable entries are skipped (and logged)."""
    if not isinstance(data, list):
        return []
    tasks = []
    for item in data:
        task = parse_task(item, origin=origin)
        if task is None:
            log.warning("provider listed a task without an id; ignoring it")
            continue
        tasks.append(task)
    return tasks
