"""The shared prompt validator: text to a valid ``Prompt`` (no Discord, no I/O).

``parse_prompt`` validates one prompt, ``expand_prompt`` turns ``{a, b}`` permutations and
``--repeat`` into one text per job, ``suggest`` completes parameters for autocomplete, and
``PARAMETERS`` is the table every rule comes from.
"""

from bot.prompt.expand import expand_prompt
from bot.prompt.issues import PromptError, PromptIssue
from bot.prompt.parser import (
    CANONICAL_MAX_LENGTH,
    MAX_LENGTH,
    parse_prompt,
    written_parameters,
)
from bot.prompt.parts import Params, Segment
from bot.prompt.prompt import Prompt
from bot.prompt.rebuild import parse_canonical, with_params, without_params
from bot.prompt.suggest import suggest
from bot.prompt.table import (
    BY_NAME as PARAMETERS_BY_NAME,
)
from bot.prompt.table import (
    PARAMETERS,
    UNSUPPORTED,
    Kind,
    ParamSpec,
    is_reserved_name,
)
from bot.prompt.versions import DEFAULT_VERSION, NIJI_VERSIONS, VERSIONS

__all__ = [
    "CANONICAL_MAX_LENGTH",
    "DEFAULT_VERSION",
    "MAX_LENGTH",
    "NIJI_VERSIONS",
    "PARAMETERS",
    "PARAMETERS_BY_NAME",
    "UNSUPPORTED",
    "VERSIONS",
    "Kind",
    "ParamSpec",
    "Params",
    "Prompt",
    "PromptError",
    "PromptIssue",
    "Segment",
    "expand_prompt",
    "is_reserved_name",
    "parse_canonical",
    "parse_prompt",
    "suggest",
    "with_params",
    "without_params",
    "written_parameters",
]
