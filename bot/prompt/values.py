"""Reading one parameter's value according to its ``Kind`` in the table."""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from decimal import Decimal, InvalidOperation
from math import gcd
from typing import Any
from urllib.parse import urlsplit

from bot.outbound.hosts import refused_host
from bot.prompt import issues as codes
from bot.prompt.issues import IssueLog
from bot.prompt.numbers import MAX_DIGITS, format_number, parse_decimal, parse_integer
from bot.prompt.scanner import RawParameter, looks_like_url
from bot.prompt.table import PARAMETERS, Kind, ParamSpec
from bot.prompt.versions import NIJI_DEFAULT, VERSION_SPELLINGS

_RATIO = re.compile(r"(\d+):(\d+)")
_DECIMAL_RATIO = re.compile(r"(\d*\.?\d*):(\d*\.?\d*)")
_CROSS_RATIO = re.compile(r"(\d+)\s*[xX×*]\s*(\d+)")
_STYLE_CODE = re.compile(r"\d{1,20}")
_MAX_ECHO = 24


class Invalid(Exception):
    """Raised inside a reader: the value is wrong in the way ``code`` says."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def echo(value: str) -> str:
    """A short quote of what the user wrote, for messages."""
    return value if len(value) <= _MAX_ECHO else value[: _MAX_ECHO - 1] + "…"


def describe(spec: ParamSpec) -> str:
    """What a parameter accepts, in words ("a whole number from 0 to 100")."""
    if spec.choices:
        listed = ", ".join(spec.choices[:-1]) + f" or {spec.choices[-1]}"
        return f"one of {listed}"
    if spec.kind in (Kind.INT, Kind.OPTIONAL_INT):
        low, high = spec.bounds
        return f"a whole number from {low:.0f} to {high:.0f}"
    if spec.kind is Kind.NUMBER:
        low, high = spec.bounds
        return f"a number from {format_number(low)} to {format_number(high)}"
    return _DESCRIPTIONS[spec.kind]


_DESCRIPTIONS = {
    Kind.FLAG: "no value",
    Kind.ASPECT: "a ratio of two whole numbers such as 16:9",
    Kind.TERMS: "a list separated by commas, such as --no trees, cars",
    Kind.URLS: "one or more http:// or https:// image URLs",
    Kind.URL: "exactly one http:// or https:// image URL",
    Kind.SREF: "image URLs or style codes (each with an optional ::weight), or random",
}


def is_valid_url(token: str) -> bool:
    """Whether a token is an http(s) URL with a host."""
    if not looks_like_url(token):
        return False
    try:
        return bool(urlsplit(token).hostname)
    except ValueError:
        return False


def url_refusal(token: str, allowed_hosts: Container[str] = ()) -> str | None:
    """Why an image URL will not be fetched, judged as written; None when it may be.

    Syntax only (no DNS here): a literal address, ``localhost`` or an internal-only name is
    refused now, unless it is one of ``allowed_hosts`` (the operator's ``outbound.allowed_hosts``,
    which the fetcher lets through too); where a public-looking name really leads is checked
    when it is fetched (``bot.outbound``).
    """
    if not is_valid_url(token):
        return "it is not an http:// or https:// URL with a host name"
    parts = urlsplit(token)
    if parts.username is not None or parts.password is not None:
        return "it holds a user name or password"
    return refused_host(parts.hostname or "", allowed_hosts)


def not_fetched(written: str, url: str, reason: str) -> str:
    """The message for a parameter's image URL whose host is refused."""
    return f"{written} needs a public image URL; {echo(url)} is not fetched: {reason}."


def value_urls(spec: ParamSpec, value: Any) -> list[str]:
    """The image URLs in a parameter's read value (none for kinds that hold no URL)."""
    if spec.kind is Kind.URL:
        return [value]
    if spec.kind is Kind.URLS:
        return list(value)
    if spec.kind is not Kind.SREF:
        return []
    # Split as _sref_item split the written token: a weight follows the last "::".
    bases = [base if sep else item for item in value for base, sep, _ in [item.rpartition("::")]]
    return [base for base in bases if is_valid_url(base)]


def _needs(spec: ParamSpec, raw: RawParameter, written: str) -> str:
    return f"{raw.written} needs {describe(spec)}, not {echo(written)}."


def _flag(spec: ParamSpec, raw: RawParameter) -> Any:
    if raw.value:
        message = f"{raw.written} takes no value: remove what follows it."
        raise Invalid(codes.UNEXPECTED_VALUE, message)
    return True


def _integer(spec: ParamSpec, raw: RawParameter) -> Any:
    return _bounded_integer(spec, raw, raw.value)


def _optional_integer(spec: ParamSpec, raw: RawParameter) -> Any:
    return _bounded_integer(spec, raw, raw.value) if raw.value else None


def _bounded_integer(spec: ParamSpec, raw: RawParameter, text: str) -> int:
    value = parse_integer(text)
    if value is None:
        code = codes.OUT_OF_RANGE if text.lstrip("-").isdigit() else codes.INVALID_VALUE
        raise Invalid(code, _needs(spec, raw, text))
    if not spec.signed and text.startswith("-"):
        raise Invalid(codes.INVALID_VALUE, f"{raw.written} needs {describe(spec)}, without a sign.")
    low, high = spec.bounds
    if not low <= value <= high:
        raise Invalid(codes.OUT_OF_RANGE, _needs(spec, raw, text))
    return value


def _number(spec: ParamSpec, raw: RawParameter) -> Any:
    value = parse_decimal(raw.value)
    if value is None:
        code = codes.OUT_OF_RANGE if raw.value.isdigit() else codes.INVALID_VALUE
        raise Invalid(code, _needs(spec, raw, raw.value))
    if spec.choices:
        if value not in spec.choice_values:
            raise Invalid(codes.OUT_OF_RANGE, _needs(spec, raw, raw.value))
        return value
    low, high = spec.bounds
    if not low <= value <= high:
        raise Invalid(codes.OUT_OF_RANGE, _needs(spec, raw, raw.value))
    return value


def _aspect(spec: ParamSpec, raw: RawParameter) -> Any:
    text = raw.value
    whole = _RATIO.fullmatch(text) if len(text) <= MAX_DIGITS * 2 else None
    if whole is not None:
        width, height = int(whole.group(1)), int(whole.group(2))
        if width == 0 or height == 0:
            raise Invalid(codes.ASPECT_FORMAT, f"{raw.written} needs two positive whole numbers.")
        divisor = gcd(width, height)
        return f"{width // divisor}:{height // divisor}"
    raise Invalid(codes.ASPECT_FORMAT, f"{raw.written} {_aspect_fix(text)}")


def _aspect_fix(text: str) -> str:
    """The message for a ratio that is not W:H in whole numbers, with the fix where one exists."""
    if len(text) <= MAX_DIGITS * 2:
        crossed = _CROSS_RATIO.fullmatch(text)
        if crossed is not None:
            return f"uses a colon: use {crossed.group(1)}:{crossed.group(2)} instead of {text}."
        decimal = _DECIMAL_RATIO.fullmatch(text)
        if decimal is not None and all(part.strip(".") for part in decimal.groups()):
            suggestion = _scaled_ratio(decimal.group(1), decimal.group(2))
            if suggestion is not None:
                return f"needs whole numbers: use {suggestion} instead of {text}."
    return f"needs {_DESCRIPTIONS[Kind.ASPECT]}."


def _scaled_ratio(width: str, height: str) -> str | None:
    try:
        sides = [Decimal(width), Decimal(height)]
    except InvalidOperation:
        return None
    places = max(-min(side.as_tuple().exponent for side in sides), 0)  # type: ignore[operator]
    scaled = [int(side.scaleb(places)) for side in sides]
    return f"{scaled[0]}:{scaled[1]}" if all(scaled) else None


def _terms(spec: ParamSpec, raw: RawParameter) -> Any:
    items = [item.strip() for item in raw.value.split(",")]
    kept = [item for item in items if item]
    if not kept:
        raise Invalid(codes.MISSING_VALUE, f"{raw.written} needs {describe(spec)}.")
    return kept


def _urls(spec: ParamSpec, raw: RawParameter) -> Any:
    tokens = raw.value.split()
    for token in tokens:
        if not is_valid_url(token):
            raise Invalid(codes.INVALID_URL, _needs(spec, raw, token))
    if spec.kind is Kind.URL:
        if len(tokens) != 1:
            raise Invalid(codes.INVALID_VALUE, f"{raw.written} takes exactly one image URL.")
        return tokens[0]
    return tokens


def _sref(spec: ParamSpec, raw: RawParameter) -> Any:
    return [_sref_item(raw, token) for token in raw.value.split()]


def _sref_item(raw: RawParameter, token: str) -> str:
    if token.lower() == "random":
        return "random"
    base, separator, weight_text = token.rpartition("::")
    if not separator:
        base, weight_text = token, ""
    if is_valid_url(base) or _STYLE_CODE.fullmatch(base):
        if not separator:
            return base
        weight = parse_decimal(weight_text)
        if weight is None:
            raise Invalid(
                codes.WEIGHT_FORMAT,
                f"{raw.written} weights are numbers written after ::, such as ::2 or ::0.5.",
            )
        return f"{base}::{format_number(weight)}"
    if looks_like_url(base) or "://" in base:
        raise Invalid(codes.INVALID_URL, f"{raw.written} needs http:// or https:// image URLs.")
    raise Invalid(
        codes.INVALID_VALUE, f"{raw.written} needs {_DESCRIPTIONS[Kind.SREF]}, not {echo(token)}."
    )


def _version(spec: ParamSpec, raw: RawParameter) -> Any:
    version = VERSION_SPELLINGS.get(raw.value)
    if version is None:
        code = codes.OUT_OF_RANGE if parse_decimal(raw.value) is not None else codes.INVALID_VALUE
        raise Invalid(code, _needs(spec, raw, raw.value))
    return version


def _niji(spec: ParamSpec, raw: RawParameter) -> Any:
    if not raw.value:
        return NIJI_DEFAULT
    if raw.value in spec.choices:
        return int(raw.value)
    code = codes.OUT_OF_RANGE if parse_decimal(raw.value) is not None else codes.INVALID_VALUE
    raise Invalid(code, _needs(spec, raw, raw.value))


def _style(spec: ParamSpec, raw: RawParameter) -> Any:
    value = raw.value.lower()
    if value not in spec.choices:
        raise Invalid(codes.INVALID_VALUE, _needs(spec, raw, raw.value))
    return value


_READERS: dict[Kind, Callable[[ParamSpec, RawParameter], Any]] = {
    Kind.FLAG: _flag,
    Kind.INT: _integer,
    Kind.OPTIONAL_INT: _optional_integer,
    Kind.NUMBER: _number,
    Kind.ASPECT: _aspect,
    Kind.TERMS: _terms,
    Kind.URLS: _urls,
    Kind.URL: _urls,
    Kind.SREF: _sref,
    Kind.VERSION: _version,
    Kind.NIJI: _niji,
    Kind.STYLE: _style,
}
_OPTIONAL_VALUE = {Kind.FLAG, Kind.OPTIONAL_INT, Kind.NIJI}
# Looked up by name on every parameter: str keys hash in C, Enum members in Python.
_READER_BY_NAME = {spec.name: _READERS[spec.kind] for spec in PARAMETERS}
_VALUE_REQUIRED = frozenset(spec.name for spec in PARAMETERS if spec.kind not in _OPTIONAL_VALUE)


def read_value(
    spec: ParamSpec, raw: RawParameter, log: IssueLog, origin: str | None
) -> tuple[bool, Any]:
    """Read a value; on failure record the issue and return ``(False, None)``."""
    if not raw.value and spec.name in _VALUE_REQUIRED:
        log.error(
            codes.MISSING_VALUE,
            f"{raw.written} needs a value: {describe(spec)}.",
            raw.span,
            spec.name,
            origin,
        )
        return False, None
    try:
        return True, _READER_BY_NAME[spec.name](spec, raw)
    except Invalid as problem:
        log.error(problem.code, problem.message, raw.span, spec.name, origin)
        return False, None
