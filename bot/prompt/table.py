"""The parameter table: every parameter's names, values, defaults and version rules, as data.

A new model version or range is a change to this table (and ``versions.py``), not to the parser.
Table order is the order of the canonical text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property

from bot.prompt.versions import NIJI_VERSIONS, VERSIONS, at_least, below, only


class Kind(Enum):
    """The shape of a parameter's value."""

    FLAG = "flag"
    INT = "int"
    NUMBER = "number"
    ASPECT = "aspect"
    TERMS = "terms"
    URLS = "urls"
    URL = "url"
    SREF = "sref"
    VERSION = "version"
    NIJI = "niji"
    STYLE = "style"
    OPTIONAL_INT = "optional_int"


@dataclass(frozen=True)
class ModelRule:
    """The models a parameter (or one of its values) works with, and how to say so."""

    models: frozenset[str]
    hint: str


@dataclass(frozen=True)
class RangeRule:
    """A range that replaces the default one on these models (for ``ar``: the longest ratio)."""

    models: frozenset[str]
    minimum: float
    maximum: float
    warn_above: float | None = None


@dataclass(frozen=True)
class Conflict:
    """Another parameter (or one value of it) this parameter cannot be combined with."""

    parameter: str
    value: float | None = None


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of the prompt language."""

    name: str
    summary: str
    kind: Kind
    aliases: tuple[str, ...] = ()
    write_as: str = ""
    field: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    default: str = ""
    models: ModelRule | None = None
    value_models: tuple[tuple[float | str, ModelRule], ...] = ()
    ranges: tuple[RangeRule, ...] = ()
    needs: str | None = None
    conflicts: tuple[Conflict, ...] = ()
    group: str | None = None
    suggestions: tuple[str, ...] = ()
    signed: bool = True

    @property
    def flag(self) -> str:
        """The name the canonical text writes (``--q`` for quality)."""
        return self.write_as or self.name

    @property
    def target(self) -> str:
        """The ``Params`` field this parameter sets."""
        return self.field or self.name

    @cached_property
    def choice_values(self) -> frozenset[float]:
        """The numeric values of ``choices`` (``.25`` and ``0.25`` are the same value)."""
        return frozenset(float(choice) for choice in self.choices)

    @cached_property
    def has_rules(self) -> bool:
        """Whether any rule beyond the value's own shape applies (most parameters: none)."""
        return bool(self.models or self.value_models or self.ranges or self.needs or self.conflicts)

    @cached_property
    def range_by_model(self) -> dict[str, RangeRule]:
        """The range rule that applies on each model (the first listed wins)."""
        found: dict[str, RangeRule] = {}
        for rule in self.ranges:
            for model in rule.models:
                found.setdefault(model, rule)
        return found

    @cached_property
    def bounds(self) -> tuple[float, float]:
        """The inclusive range of a numeric parameter."""
        if self.minimum is None or self.maximum is None:
            raise ValueError(f"--{self.name} has no numeric range")
        return self.minimum, self.maximum

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name and every alias."""
        return (self.name, *self.aliases)


V5_ON = ModelRule(at_least(5), "needs V5 or later (or niji 5/6)")
V7_ON = ModelRule(at_least(7, niji=False), "needs V7")
_SPEEDS = ("fast", "relax", "turbo")

PARAMETERS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "ar",
        "Aspect ratio of the image, width:height in whole numbers",
        Kind.ASPECT,
        aliases=("aspect",),
        default="1:1",
        ranges=(
            RangeRule(below(5), 1, 2),
            RangeRule(at_least(5), 1, 10, warn_above=2),
        ),
        suggestions=("1:1", "16:9", "9:16", "2:3", "3:2", "4:3", "3:4", "21:9"),
    ),
    ParamSpec(
        "quality",
        "Detail and rendering time",
        Kind.NUMBER,
        aliases=("q",),
        write_as="q",
        choices=(".25", ".5", "1", "2", "4"),
        default="1",
        value_models=(
            (2.0, ModelRule(at_least(4), "needs V4 or later")),
            (4.0, ModelRule(at_least(7, niji=False), "needs V7")),
        ),
        suggestions=(".25", ".5", "1", "2", "4"),
    ),
    ParamSpec(
        "stylize",
        "How strongly Midjourney's own style is applied",
        Kind.INT,
        aliases=("s",),
        write_as="s",
        minimum=0,
        maximum=1000,
        default="100",
        suggestions=("0", "50", "100", "250", "500", "750", "1000"),
    ),
    ParamSpec(
        "chaos",
        "Variety between the four images",
        Kind.INT,
        aliases=("c",),
        write_as="c",
        minimum=0,
        maximum=100,
        default="0",
        suggestions=("0", "10", "25", "50", "75", "100"),
    ),
    ParamSpec(
        "weird",
        "Unusual, quirky results",
        Kind.INT,
        aliases=("w",),
        write_as="w",
        minimum=0,
        maximum=3000,
        default="0",
        models=V5_ON,
        suggestions=("0", "250", "500", "1000", "1500", "3000"),
    ),
    *(
        ParamSpec(
            speed,
            f"Run this job in {speed} mode",
            Kind.FLAG,
            field="speed",
            group="speed",
            default="your speed mode",
            models=V5_ON if speed == "turbo" else None,
        )
        for speed in _SPEEDS
    ),
    ParamSpec(
        "version",
        "Midjourney model version",
        Kind.VERSION,
        aliases=("v",),
        write_as="v",
        choices=VERSIONS,
        default="7",
        group="model",
        suggestions=tuple(reversed(VERSIONS)),
    ),
    ParamSpec(
        "niji",
        "The anime and illustration model",
        Kind.NIJI,
        choices=tuple(str(n) for n in NIJI_VERSIONS),
        default="6 when written without a value",
        group="model",
        suggestions=tuple(str(n) for n in reversed(NIJI_VERSIONS)),
    ),
    ParamSpec(
        "style",
        "Style variant: raw, or for niji cute, expressive, scenic, original",
        Kind.STYLE,
        choices=("raw", "cute", "expressive", "scenic", "original"),
        value_models=tuple(
            (name, ModelRule(only(*(f"niji {n}" for n in NIJI_VERSIONS)), "needs --niji"))
            for name in ("cute", "expressive", "scenic", "original")
        ),
        suggestions=("raw", "cute", "expressive", "scenic", "original"),
    ),
    ParamSpec("raw", "Less default styling, more literal", Kind.FLAG, default="off"),
    ParamSpec("tile", "Seamless repeating pattern", Kind.FLAG, default="off"),
    ParamSpec("draft", "Fast draft at half cost", Kind.FLAG, default="off", models=V7_ON),
    ParamSpec("no", "Things to leave out, separated by commas", Kind.TERMS, default="nothing"),
    ParamSpec(
        "seed",
        "Starting noise; the same seed and prompt give similar images",
        Kind.INT,
        minimum=0,
        maximum=4294967295,
        default="random",
        signed=False,
    ),
    ParamSpec(
        "stop",
        "Finish the image early, at this percentage",
        Kind.INT,
        minimum=10,
        maximum=100,
        default="100",
        suggestions=("10", "25", "50", "75", "80", "90", "100"),
    ),
    ParamSpec(
        "iw",
        "Weight of the image prompts against the text",
        Kind.NUMBER,
        minimum=0,
        maximum=3,
        default="1",
        ranges=(RangeRule(only("5", "5.1", "5.2", "niji 5"), 0, 2),),
        suggestions=("0.5", "1", "1.5", "2", "3"),
    ),
    ParamSpec(
        "sref",
        "Style reference: image URLs or style codes, each with an optional ::weight",
        Kind.SREF,
        default="none",
        suggestions=("random",),
    ),
    ParamSpec(
        "sw",
        "Style reference weight",
        Kind.INT,
        minimum=0,
        maximum=1000,
        default="100",
        needs="sref",
        suggestions=("0", "50", "100", "250", "500", "1000"),
    ),
    ParamSpec(
        "cref",
        "Character reference image URLs",
        Kind.URLS,
        default="none",
        models=ModelRule(
            only("6", "6.1", "niji 6"), "works with V6 and niji 6 only (on V7 use --oref)"
        ),
    ),
    ParamSpec(
        "cw",
        "Character reference weight",
        Kind.INT,
        minimum=0,
        maximum=100,
        default="100",
        needs="cref",
        suggestions=("0", "25", "50", "100"),
    ),
    ParamSpec(
        "oref",
        "Object reference: exactly one image URL (double cost)",
        Kind.URL,
        default="none",
        models=V7_ON,
        conflicts=(
            Conflict("turbo"),
            Conflict("relax"),
            Conflict("draft"),
            Conflict("quality", 4.0),
        ),
    ),
    ParamSpec(
        "ow",
        "Object reference weight",
        Kind.INT,
        minimum=1,
        maximum=1000,
        default="100",
        needs="oref",
        suggestions=("1", "50", "100", "250", "500", "1000"),
    ),
    ParamSpec(
        "exp",
        "Experimental aesthetics",
        Kind.OPTIONAL_INT,
        minimum=0,
        maximum=100,
        default="none",
        models=V7_ON,
        suggestions=("0", "5", "10", "25", "50", "100"),
    ),
    ParamSpec(
        "repeat",
        "Run the prompt this many times (handled by the bot)",
        Kind.INT,
        aliases=("r",),
        minimum=2,
        maximum=40,
        default="1",
        suggestions=("2", "3", "4", "5", "10"),
    ),
)

UNSUPPORTED: dict[str, str] = {
    "personalize": "needs a Midjourney account profile, which this bot does not have",
    "stealth": "visibility is not an API concept; results are posted in this channel",
    "public": "visibility is not an API concept; results are posted in this channel",
    "video": "videos are made with the video command, not /imagine",
    "batchsize": "batch size applies only to video jobs",
    "motion": "works only for video jobs (values 1-4, default 2): use the video command",
}
UNSUPPORTED_ALIASES: dict[str, str] = {"p": "personalize", "bs": "batchsize"}

# Rules about the prompt as a whole rather than one parameter.
WEAK_MULTI_PROMPTS: frozenset[str] = at_least(7, niji=False)
WHOLE_WEIGHTS_ONLY: frozenset[str] = only("1", "2", "3")
IMAGE_ONLY_REFUSED: tuple[str, ...] = ("stylize", "weird")

BY_NAME: dict[str, ParamSpec] = {name: spec for spec in PARAMETERS for name in spec.names}
BY_CANONICAL: dict[str, ParamSpec] = {spec.name: spec for spec in PARAMETERS}
ORDER: dict[str, int] = {spec.name: index for index, spec in enumerate(PARAMETERS)}
SPEED_FLAGS: tuple[str, ...] = _SPEEDS


def is_reserved_name(name: str) -> bool:
    """Whether a custom option name would shadow a built-in or rejected parameter."""
    lowered = name.lower().removeprefix("--")
    return lowered in BY_NAME or lowered in UNSUPPORTED or lowered in UNSUPPORTED_ALIASES
