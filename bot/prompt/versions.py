"""The model versions a prompt can ask for, and named sets of them for the parameter table."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_VERSION = "7"


@dataclass(frozen=True)
class Model:
    """One model: a Midjourney version or a niji version, ordered by ``generation``."""

    key: str
    niji: bool
    generation: float

    @property
    def label(self) -> str:
        """How messages name the model ("V6.1", "niji 6")."""
        return self.key if self.niji else f"V{self.key}"


# Adding a model version: add it here (and to the sets of the table that should include it).
VERSIONS: tuple[str, ...] = ("1", "2", "3", "4", "5", "5.1", "5.2", "6", "6.1", "7")
VERSION_SPELLINGS: dict[str, str] = {v: v for v in VERSIONS} | {"5.0": "5", "6.0": "6"}
NIJI_VERSIONS: tuple[int, ...] = (4, 5, 6)
NIJI_DEFAULT = 6

MODELS: dict[str, Model] = {v: Model(v, niji=False, generation=float(v)) for v in VERSIONS} | {
    f"niji {n}": Model(f"niji {n}", niji=True, generation=float(n)) for n in NIJI_VERSIONS
}


def model_key(version: str | None, niji: int | None) -> str:
    """The ``MODELS`` key of a prompt's effective model."""
    return f"niji {niji}" if niji is not None else (version or DEFAULT_VERSION)


def at_least(generation: float, *, niji: bool = True) -> frozenset[str]:
    """Models of this generation or later (niji versions count by their number)."""
    return frozenset(
        key
        for key, model in MODELS.items()
        if model.generation >= generation and (niji or not model.niji)
    )


def below(generation: float) -> frozenset[str]:
    """Models older than this generation."""
    return frozenset(key for key, model in MODELS.items() if model.generation < generation)


def only(*keys: str) -> frozenset[str]:
    """Exactly these models."""
    unknown = [key for key in keys if key not in MODELS]
    if unknown:
        raise ValueError(f"unknown model keys: {unknown}")
    return frozenset(keys)
