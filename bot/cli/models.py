"""``models``: download the local provider's weights ahead of the first render."""

from __future__ import annotations

import argparse
import sys

from bot.cli.commands import EXIT_FAILED, EXIT_OK, load_or_report
from bot.providers.diffusion.devices import choose_device
from bot.providers.diffusion.inspection import download_weights, used_presets, weights_cached

EXIT_CONFIG = 2


def models_command(args: argparse.Namespace) -> int:
    """Download the weights of every preset a version uses (or those named); 1 on failure."""
    settings = load_or_report(args)
    if settings is None:
        return EXIT_CONFIG
    diffusion = settings.diffusion
    try:
        device, _dtype = choose_device(diffusion.device, diffusion.dtype)
    except ImportError:
        print("error: torch is not installed; run pip install -e '.[local]'", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:
        print(f"error: diffusion.device: {exc}", file=sys.stderr)
        return EXIT_FAILED
    presets = used_presets(diffusion, gpu=device != "cpu")
    wanted = args.preset or list(presets)
    unknown = [name for name in wanted if name not in presets]
    if unknown:
        print(
            f"error: no preset {', '.join(unknown)}; in use: {', '.join(presets)}", file=sys.stderr
        )
        return EXIT_FAILED
    failed = 0
    for name in wanted:
        preset = presets[name]
        print(f"{name}: {preset.model} (licence: {preset.licence or 'see the model card'})")
        try:
            download_weights(preset, diffusion.cache_dir)
        except (OSError, ValueError) as exc:
            # huggingface_hub's errors are OSErrors: one line each, not a traceback.
            print(
                f"error: {name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                file=sys.stderr,
            )
            failed += 1
            continue
        state = (
            "ready"
            if weights_cached(preset.model, diffusion.cache_dir)
            else "not found after download"
        )
        print(f"{name}: {state}")
    return EXIT_FAILED if failed else EXIT_OK
