"""The fake server's tasks: their JSON, their buttons, their images and how they move."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

PROGRESS_STEPS = (25, 50, 75)
GRID_ACTIONS = {"upsample": "UPSCALE", "variation": "VARIATION", "reroll": "REROLL"}


def png_bytes(width: int = 128, height: int = 128, *, grid: bool = True) -> bytes:
    """A real PNG: four coloured quadrants for a grid, one colour for a single image."""
    image = Image.new("RGB", (width, height), (40, 90, 160))
    if grid:
        colours = [(200, 60, 60), (60, 200, 60), (60, 60, 200), (200, 200, 60)]
        for number, colour in enumerate(colours):
            x, y = (number % 2) * width // 2, (number // 2) * height // 2
            image.paste(colour, (x, y, x + width // 2, y + height // 2))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class FakeTask:
    """One task as the fake server keeps it."""

    id: str
    action: str
    prompt: str
    state: str | None
    notify_hook: str | None
    single: bool = False
    status: str = "SUBMITTED"
    progress: int = 0
    image_url: str | None = None
    fail_reason: str | None = None
    planned_failure: str | None = None
    stalled: bool = False
    parent_id: str | None = None
    mode: str = "FAST"
    description: str = ""
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in {"SUCCESS", "FAILURE", "CANCEL"}

    def to_json(self, *, buttons: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "action": self.action,
            "status": self.status,
            "prompt": self.prompt,
            "promptEn": self.prompt,
            "description": self.description,
            "state": self.state,
            "submitTime": 1_700_000_000_000,
            "progress": f"{self.progress}%",
            "imageUrl": self.image_url,
            "failReason": self.fail_reason,
            "properties": {"finalPrompt": self.prompt},
        }
        if buttons:
            data["buttons"] = _buttons(self) if self.status == "SUCCESS" else []
            data["mode"] = self.mode
            data["parentId"] = self.parent_id
            data["seed"] = "1234" if self.status == "SUCCESS" else None
        return data


def _buttons(task: FakeTask) -> list[dict[str, Any]]:
    tag = f"{task.id}-hash"
    if task.single:
        ids = [
            f"MJ::JOB::upsample_v7_2x_subtle::1::{tag}::SOLO",
            f"MJ::JOB::upsample_v7_2x_creative::1::{tag}::SOLO",
            f"MJ::JOB::low_variation::1::{tag}::SOLO",
            f"MJ::JOB::high_variation::1::{tag}::SOLO",
            f"MJ::Outpaint::50::1::{tag}::SOLO",
            f"MJ::Outpaint::75::1::{tag}::SOLO",
            *(f"MJ::JOB::pan_{side}::1::{tag}::SOLO" for side in ("left", "right", "up", "down")),
        ]
    else:
        ids = [
            *(f"MJ::JOB::upsample::{n}::{tag}" for n in range(1, 5)),
            *(f"MJ::JOB::variation::{n}::{tag}" for n in range(1, 5)),
            f"MJ::JOB::reroll::0::{tag}::SOLO",
        ]
    return [{"customId": cid, "emoji": "", "label": "", "style": 2, "type": 2} for cid in ids]


def step(task: FakeTask, root_url: str) -> None:
    """One step along SUBMITTED -> IN_PROGRESS 25/50/75% (with a preview) -> the end."""
    if task.status == "SUBMITTED" or task.progress < PROGRESS_STEPS[-1]:
        following = [p for p in PROGRESS_STEPS if p > task.progress]
        task.status, task.progress = "IN_PROGRESS", following[0]
        task.image_url = f"{root_url}/images/{task.id}-preview.png"
    elif task.planned_failure is not None:
        task.status, task.fail_reason, task.image_url = "FAILURE", task.planned_failure, None
    else:
        task.status, task.progress = "SUCCESS", 100
        task.image_url = f"{root_url}/images/{task.id}.png"
