"""Choosing the device and dtype: what this machine has, and clear refusals for the rest."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="choosing a device needs torch (the local extra)")

from bot.providers.diffusion.devices import choose_device, free_memory  # noqa: E402


def test_auto_on_a_machine_without_gpus_is_the_cpu_in_bfloat16() -> None:
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("this machine has a GPU")
    assert choose_device("auto", "auto") == ("cpu", "bfloat16")


@pytest.mark.parametrize(("dtype", "expected"), [("fp32", "float32"), ("float16", "float16")])
def test_dtypes_and_their_short_names(dtype: str, expected: str) -> None:
    assert choose_device("cpu", dtype) == ("cpu", expected)


def test_an_unknown_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown dtype 'int8'"):
        choose_device("cpu", "int8")


def test_a_cuda_device_this_machine_lacks_is_refused_in_one_line() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA is not available"):
        choose_device("cuda:1", "auto")


def test_free_memory_of_the_cpu_is_the_machines() -> None:
    free = free_memory("cpu")
    assert free is not None
    assert free > 0
