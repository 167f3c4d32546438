"""Choosing the render device and dtype (imports torch: worker process and ``check`` only)."""

from __future__ import annotations

import os

AUTO_DTYPES = {"cuda": "float16", "mps": "float16", "cpu": "bfloat16"}
"""Half precision on GPUs; bfloat16 on the CPU: a UNet step of SD-Turbo at 512x512 took 4.8 s
against 10.2 s in float32 on the 2-core build machine."""
DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
DTYPES = ("float32", "float16", "bfloat16")


def choose_device(device: str, dtype: str) -> tuple[str, str]:
    """The device and dtype to render with; ``ValueError`` for a device this machine lacks."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    elif device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"CUDA is not available to this torch build ({torch.__version__})")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(f"there is no {device}: {torch.cuda.device_count()} CUDA device(s)")
    elif device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("Apple MPS is not available on this machine")
    dtype = DTYPE_ALIASES.get(dtype, dtype)
    if dtype == "auto":
        dtype = AUTO_DTYPES[device.partition(":")[0]]
    elif dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}: use auto, float32, float16 or bfloat16")
    return device, dtype


def free_memory(device: str) -> int | None:
    """Bytes free on the device (the machine's available memory for the CPU); None if unknown."""
    if device.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    if device == "cpu":
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            return None
    return None
