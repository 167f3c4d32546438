"""The task directories: requests kept for a restart, results, grids and retention."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from bot.providers.diffusion.results import ResultStore, StoredRequest, StoredResult, grid_of


def png(colour: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def rgb(colour: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> bytes:
    """Raw RGB pixels of one colour, as a ``RenderResult`` carries them."""
    return bytes(colour) * (size[0] * size[1])


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "results", retention_seconds=100.0)


def test_a_request_is_read_back_as_written(store: ResultStore) -> None:
    request = StoredRequest(
        job_id=7, prompt="a cat --seed 3", action="upscale", index=2, parent_task_id="6-0000abcd"
    )
    store.save_request("7-0123abcd", request)
    assert store.request("7-0123abcd") == request
    assert store.result("7-0123abcd") is None
    assert store.images("7-0123abcd") is None


def test_a_result_keeps_its_images_grid_and_notes(store: ResultStore) -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 9, 9)]
    store.save_request("7-0123abcd", StoredRequest(job_id=7, prompt="x"))
    store.save_result(
        "7-0123abcd",
        [rgb(colour) for colour in colours],
        StoredResult(width=8, height=6, count=4, steps_run=2, notes=("n",)),
    )
    assert store.images("7-0123abcd") == tuple(png(colour) for colour in colours)
    assert store.result("7-0123abcd") == StoredResult(
        width=8, height=6, count=4, steps_run=2, notes=("n",)
    )
    grid = Image.open(io.BytesIO(store.grid("7-0123abcd") or b""))
    assert grid.size == (16, 12)
    assert grid.getpixel((12, 9)) == (9, 9, 9)


def test_the_grid_is_the_only_copy_of_the_images(store: ResultStore) -> None:
    store.save_result(
        "7-0123abcd", [rgb((1, 2, 3))] * 4, StoredResult(width=8, height=6, count=4, steps_run=2)
    )
    assert sorted(path.name for path in (store.root / "7-0123abcd").iterdir()) == [
        "grid.png",
        "result.json",
    ]


def test_images_stored_one_file_each_by_earlier_versions_are_read(store: ResultStore) -> None:
    folder = store.root / "7-0123abcd"
    folder.mkdir(parents=True)
    for index, colour in enumerate([(1, 1, 1), (2, 2, 2)]):
        (folder / f"image_{index}.png").write_bytes(png(colour))
    (folder / "grid.png").write_bytes(b"not the images")
    (folder / "result.json").write_text(
        StoredResult(width=8, height=6, count=2, steps_run=2).model_dump_json()
    )
    assert store.images("7-0123abcd") == (png((1, 1, 1)), png((2, 2, 2)))


def test_a_single_image_is_its_own_grid() -> None:
    assert grid_of([rgb((1, 2, 3))], (8, 6)) == png((1, 2, 3))


@pytest.mark.parametrize("task_id", ["../etc", "7-ZZZZZZZZ", "", "7-0123abcd/.."])
def test_a_task_id_never_names_a_path_elsewhere(store: ResultStore, task_id: str) -> None:
    with pytest.raises(ValueError, match="not a local task id"):
        store.request(task_id)


def test_tasks_of_a_job_oldest_first(store: ResultStore) -> None:
    store.save_request("7-00000001", StoredRequest(job_id=7, prompt="x"))
    store.save_request("70-00000002", StoredRequest(job_id=70, prompt="x"))
    store.save_request("7-00000003", StoredRequest(job_id=7, prompt="x"))
    os.utime(store.root / "7-00000003", (1, 1))
    assert store.tasks_of_job(7) == ["7-00000003", "7-00000001"]
    assert store.tasks_of_job(8) == []


def test_prune_removes_only_what_is_older_than_the_retention(store: ResultStore) -> None:
    store.save_request("1-00000001", StoredRequest(job_id=1, prompt="x"))
    store.save_request("2-00000002", StoredRequest(job_id=2, prompt="x"))
    (store.root / "not-a-task").mkdir()
    os.utime(store.root / "1-00000001", (1000, 1000))
    os.utime(store.root / "2-00000002", (1050, 1050))
    os.utime(store.root / "not-a-task", (1, 1))
    assert store.prune(now=1120.0) == 1
    assert store.request("1-00000001") is None
    assert store.request("2-00000002") is not None
    assert (store.root / "not-a-task").is_dir()


def test_an_empty_store_has_nothing(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "absent", retention_seconds=1.0)
    assert store.prune() == 0
    assert store.tasks_of_job(1) == []
