"""Rendered images on disk, one directory per task, kept for the retention period.

A task's directory holds ``request.json`` (what was asked, written before the render
starts, so a restart can render it again) and, once done, ``grid.png`` (the images side
by side; earlier versions also wrote each as ``image_N.png``) and ``result.json``.
Buttons on a result crop its images from the grid, so they keep working across restarts
until the retention period ends. Every method blocks: the provider calls them in a thread.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from PIL import Image
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.providers.diffusion.pictures import decode_rgb, encode_png, from_rgb

log = logging.getLogger(__name__)

_TASK_ID = re.compile(r"[0-9]+-[0-9a-f]{8}")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


_R = TypeVar("_R", bound=_Record)


class StoredRequest(_Record):
    """What a task was asked to render: enough to plan it again after a restart."""

    job_id: int
    prompt: str
    action: str | None = None
    index: int = 0
    parent_task_id: str | None = None


class StoredEnding(_Record):
    """A task that ended without images: failed (with why) or cancelled."""

    cancelled: bool = False
    failure_kind: str | None = None
    failure_message: str | None = None


class StoredResult(_Record):
    """A finished render: its size, image count and the notes shown with it."""

    width: int
    height: int
    count: int
    steps_run: int
    notes: tuple[str, ...] = ()


_COLUMNS = 2


def _box(index: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where image ``index`` of ``size`` sits in a grid."""
    width, height = size
    left, top = (index % _COLUMNS) * width, (index // _COLUMNS) * height
    return left, top, left + width, top + height


def grid_of(pixels: Sequence[bytes], size: tuple[int, int]) -> bytes:
    """One PNG of raw RGB images of ``size``: the single image, or four as a 2x2 grid."""
    tiles = [from_rgb(data, size) for data in pixels]
    if len(tiles) == 1:
        return encode_png(tiles[0])
    rows = (len(tiles) + _COLUMNS - 1) // _COLUMNS
    sheet = Image.new("RGB", (size[0] * _COLUMNS, size[1] * rows))
    for index, tile in enumerate(tiles):
        sheet.paste(tile, _box(index, size)[:2])
    return encode_png(sheet)


def tiles_of(grid: bytes, size: tuple[int, int], count: int) -> tuple[bytes, ...]:
    """The ``count`` images of ``size`` in a PNG made by ``grid_of``, each as PNG."""
    if count == 1:
        return (grid,)
    sheet = decode_rgb(grid)
    return tuple(encode_png(sheet.crop(_box(index, size))) for index in range(count))


class ResultStore:
    """The task directories under ``root``."""

    def __init__(self, root: Path, *, retention_seconds: float) -> None:
        self.root = root
        self._retention = retention_seconds

    def _dir(self, task_id: str) -> Path:
        if not _TASK_ID.fullmatch(task_id):
            # Task ids come back from the database: never let one name a path elsewhere.
            raise ValueError(f"not a local task id: {task_id!r}")
        return self.root / task_id

    def save_request(self, task_id: str, request: StoredRequest) -> None:
        """Record a new task before it is rendered."""
        folder = self._dir(task_id)
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / "request.json", request)

    def request(self, task_id: str) -> StoredRequest | None:
        """The request of a task, or None when it is unknown or expired."""
        return _read(self._dir(task_id) / "request.json", StoredRequest)

    def save_result(self, task_id: str, pixels: Sequence[bytes], result: StoredResult) -> None:
        """Store the grid, then ``result.json`` last (it marks the task done).

        ``pixels`` are the raw RGB images of ``result.width`` x ``result.height``. The grid
        is their only copy on disk: PNG is lossless, so a button's image is cropped from it
        exactly, and one encode per result costs half what five did (the four images, then
        the grid of the same pixels).
        """
        folder = self._dir(task_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "grid.png").write_bytes(grid_of(pixels, (result.width, result.height)))
        _write(folder / "result.json", result)

    def save_ending(self, task_id: str, ending: StoredEnding) -> None:
        """Record that a task ended without images, so a restart does not render it again."""
        folder = self._dir(task_id)
        if folder.is_dir():
            _write(folder / "ending.json", ending)

    def ending(self, task_id: str) -> StoredEnding | None:
        """How a task ended without images; None when it did not (or is unknown)."""
        return _read(self._dir(task_id) / "ending.json", StoredEnding)

    def result(self, task_id: str) -> StoredResult | None:
        """The finished render of a task; None while it runs or when it expired."""
        return _read(self._dir(task_id) / "result.json", StoredResult)

    def images(self, task_id: str) -> tuple[bytes, ...] | None:
        """The task's images in order, as PNG; None when the result is gone."""
        stored = self.result(task_id)
        if stored is None:
            return None
        folder = self._dir(task_id)
        try:
            if (folder / "image_0.png").is_file():
                # Stored by earlier versions, which wrote each image beside the grid.
                return tuple(
                    (folder / f"image_{index}.png").read_bytes() for index in range(stored.count)
                )
            grid = (folder / "grid.png").read_bytes()
        except FileNotFoundError:
            return None
        return tiles_of(grid, (stored.width, stored.height), stored.count)

    def grid(self, task_id: str) -> bytes | None:
        """The image to post: the grid, or the single image."""
        try:
            return (self._dir(task_id) / "grid.png").read_bytes()
        except FileNotFoundError:
            return None

    def tasks_of_job(self, job_id: int) -> list[str]:
        """Every task recorded for a job, oldest first."""
        if not self.root.is_dir():
            return []
        found = [path for path in self.root.glob(f"{job_id}-*") if _TASK_ID.fullmatch(path.name)]
        return [path.name for path in sorted(found, key=lambda path: path.stat().st_mtime)]

    def prune(self, now: float | None = None) -> int:
        """Remove tasks older than the retention period; how many were removed."""
        if not self.root.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - self._retention
        removed = 0
        for folder in self.root.iterdir():
            if not _TASK_ID.fullmatch(folder.name) or folder.stat().st_mtime >= cutoff:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        if removed:
            log.info("removed %d rendered results older than the retention period", removed)
        return removed


def _write(path: Path, record: BaseModel) -> None:
    # Written aside and renamed: a crash never leaves half a file that reads as done.
    partial = path.with_suffix(".partial")
    partial.write_text(record.model_dump_json(), encoding="utf-8")
    partial.replace(path)


def _read(path: Path, kind: type[_R]) -> _R | None:
    try:
        return kind.model_validate_json(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValidationError):
        return None
