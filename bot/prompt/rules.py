"""Rules between parameters and the model: version support, ranges per model, needs, conflicts."""

from __future__ import annotations

from bot.prompt import issues as codes
from bot.prompt.issues import IssueLog
from bot.prompt.layers import Assignment
from bot.prompt.numbers import format_number
from bot.prompt.table import Kind, ModelRule, RangeRule
from bot.prompt.versions import MODELS


def _fail(log: IssueLog, assignment: Assignment, code: str, message: str) -> None:
    log.error(code, message, assignment.span, assignment.spec.name, assignment.origin)


def _unsupported_on(rule: ModelRule, model: str, shown: str) -> str:
    return f"{shown} {rule.hint}; this prompt uses {MODELS[model].label}."


def _check_models(assignment: Assignment, model: str, log: IssueLog) -> None:
    spec = assignment.spec
    if spec.models is not None and model not in spec.models.models:
        message = _unsupported_on(spec.models, model, assignment.written)
        _fail(log, assignment, codes.INCOMPATIBLE, message)
    for value, rule in spec.value_models:
        if assignment.value == value and model not in rule.models:
            shown = value if isinstance(value, str) else format_number(value)
            message = _unsupported_on(rule, model, f"{assignment.written} {shown}")
            _fail(log, assignment, codes.INCOMPATIBLE, message)


def _check_others(assignment: Assignment, chosen: dict[str, Assignment], log: IssueLog) -> None:
    spec = assignment.spec
    if spec.needs is not None and spec.needs not in chosen:
        message = f"{assignment.written} needs --{spec.needs} in the same prompt."
        _fail(log, assignment, codes.INCOMPATIBLE, message)
    for conflict in spec.conflicts:
        other = chosen.get(conflict.parameter)
        if other is not None and conflict.value in (None, other.value):
            value = "" if conflict.value is None else f" {format_number(conflict.value)}"
            message = f"{assignment.written} cannot be used with {other.written}{value}."
            _fail(log, assignment, codes.INCOMPATIBLE, message)


def _ratio(text: str) -> float:
    width, height = (int(side) for side in text.split(":"))
    return max(width, height) / min(width, height)


def _check_range(assignment: Assignment, model: str, log: IssueLog) -> None:
    for rule in assignment.spec.ranges:
        if model in rule.models:
            _check_rule(assignment, rule, model, log)
            return


def _check_rule(assignment: Assignment, rule: RangeRule, model: str, log: IssueLog) -> None:
    label, shown = MODELS[model].label, assignment.written
    if assignment.spec.kind is not Kind.ASPECT:
        if not rule.minimum <= assignment.value <= rule.maximum:
            low, high = format_number(rule.minimum), format_number(rule.maximum)
            message = f"{shown} on {label} must be from {low} to {high}."
            _fail(log, assignment, codes.OUT_OF_RANGE, message)
        return
    ratio = _ratio(assignment.value)
    if ratio > rule.maximum:
        most = format_number(rule.maximum)
        message = f"{shown} on {label} goes from 1:{most} to {most}:1; {assignment.value} is wider."
        _fail(log, assignment, codes.OUT_OF_RANGE, message)
    elif rule.warn_above is not None and ratio > rule.warn_above:
        beyond = f"{format_number(rule.warn_above)}:1"
        # A warning is part of the Prompt: it names the canonical flag, not the alias written.
        shown = f"--{assignment.spec.flag}"
        message = f"{shown} {assignment.value} is beyond {beyond}: extreme ratios are experimental."
        log.warn(codes.EXPERIMENTAL_ASPECT, message, assignment.span, "ar", assignment.origin)


def check_rules(chosen: dict[str, Assignment], model: str, log: IssueLog) -> None:
    """Report every broken rule of the table for this model and set of parameters."""
    for assignment in chosen.values():
        _check_models(assignment, model, log)
        _check_others(assignment, chosen, log)
        _check_range(assignment, model, log)
