"""Rules between parameters and the model: version support, ranges per model, needs, conflicts.

A settings parameter (defaults, suffix) that breaks a rule only because of a higher layer
(the model or a clashing parameter written above it) is left out with a warning: the higher
layer wins. Any other broken rule, including one inside a single layer, is an error.
"""

from __future__ import annotations

from bot.prompt import issues as codes
from bot.prompt.issues import IssueLog
from bot.prompt.layers import Assignment
from bot.prompt.numbers import format_number
from bot.prompt.table import Kind, ModelRule, RangeRule
from bot.prompt.versions import MODELS

Problem = tuple[str, str]


def _unsupported_on(rule: ModelRule, model: str, shown: str) -> str:
    return f"{shown} {rule.hint}; this prompt uses {MODELS[model].label}."


def _model_problems(assignment: Assignment, model: str) -> list[Problem]:
    spec, shown = assignment.spec, assignment.written
    problems: list[Problem] = []
    if spec.models is not None and model not in spec.models.models:
        problems.append((codes.INCOMPATIBLE, _unsupported_on(spec.models, model, shown)))
    for value, rule in spec.value_models:
        if assignment.value == value and model not in rule.models:
            written = f"{shown} {value if isinstance(value, str) else format_number(value)}"
            problems.append((codes.INCOMPATIBLE, _unsupported_on(rule, model, written)))
    return problems


def _clashes(first: Assignment, second: Assignment) -> bool:
    """Whether the table says ``first`` cannot be used with ``second`` (as it is written)."""
    return any(
        conflict.parameter == second.spec.name and conflict.value in (None, second.value)
        for conflict in first.spec.conflicts
    )


def _clash_message(first: Assignment, second: Assignment) -> str:
    # Name the value only where the rule is about one value (--q 4), not about any URL.
    value = f" {format_number(second.value)}" if second.spec.kind is Kind.NUMBER else ""
    return f"{first.written} cannot be used with {second.written}{value}."


def _needs_problems(assignment: Assignment, chosen: dict[str, Assignment]) -> list[Problem]:
    needs = assignment.spec.needs
    if needs is None or needs in chosen:
        return []
    return [(codes.INCOMPATIBLE, f"{assignment.written} needs --{needs} as well.")]


def _conflict_problems(
    assignment: Assignment, chosen: dict[str, Assignment], *, outranked_only: bool
) -> list[Problem]:
    """Conflicts it declares; with ``outranked_only``, any clash with a higher layer instead."""
    problems: list[Problem] = []
    if not outranked_only and not assignment.spec.conflicts:
        return problems
    for other in chosen.values():
        if outranked_only and other.rank > assignment.rank:
            if _clashes(assignment, other) or _clashes(other, assignment):
                problems.append((codes.INCOMPATIBLE, _clash_message(other, assignment)))
        elif not outranked_only and _clashes(assignment, other):
            problems.append((codes.INCOMPATIBLE, _clash_message(assignment, other)))
    return problems


def _ratio(text: str) -> float:
    width, height = (int(side) for side in text.split(":"))
    return max(width, height) / min(width, height)


def _range_for(assignment: Assignment, model: str) -> RangeRule | None:
    return assignment.spec.range_by_model.get(model)


def _range_problems(assignment: Assignment, model: str) -> list[Problem]:
    rule = _range_for(assignment, model)
    if rule is None:
        return []
    label, shown = MODELS[model].label, assignment.written
    if assignment.spec.kind is Kind.ASPECT:
        if _ratio(assignment.value) <= rule.maximum:
            return []
        most = format_number(rule.maximum)
        message = f"{shown} on {label} goes from 1:{most} to {most}:1; {assignment.value} is wider."
        return [(codes.OUT_OF_RANGE, message)]
    if rule.minimum <= assignment.value <= rule.maximum:
        return []
    low, high = format_number(rule.minimum), format_number(rule.maximum)
    return [(codes.OUT_OF_RANGE, f"{shown} on {label} must be from {low} to {high}.")]


def _problems(assignment: Assignment, chosen: dict[str, Assignment], model: str) -> list[Problem]:
    """Every rule this parameter breaks."""
    return [
        *_model_problems(assignment, model),
        *_needs_problems(assignment, chosen),
        *_conflict_problems(assignment, chosen, outranked_only=False),
        *_range_problems(assignment, model),
    ]


def _outranked(assignment: Assignment, chosen: dict[str, Assignment], model: str) -> list[Problem]:
    """The rules this parameter breaks because of something a higher layer chose."""
    problems = _conflict_problems(assignment, chosen, outranked_only=True)
    if _model_rank(chosen) > assignment.rank:
        problems += [*_model_problems(assignment, model), *_range_problems(assignment, model)]
    return problems


def _model_rank(chosen: dict[str, Assignment]) -> int:
    """The layer that chose the model (-1: the built-in default version)."""
    chooser = chosen.get("version") or chosen.get("niji")
    return -1 if chooser is None else chooser.rank


def _leave_out_unfit_settings(chosen: dict[str, Assignment], model: str, log: IssueLog) -> None:
    """Drop settings-layer parameters that a higher layer makes break a rule, until none does."""
    while any(assignment.origin is not None for assignment in chosen.values()):
        unfit = [
            (assignment, problems[0][1])
            for assignment in chosen.values()
            if assignment.origin is not None
            for problems in [_outranked(assignment, chosen, model)]
            if problems
        ]
        if not unfit:
            return
        for assignment, reason in unfit:
            chosen.pop(assignment.spec.name, None)
            message = f"{reason} {assignment.written} was left out."
            log.warn(codes.DEFAULT_IGNORED, message, None, assignment.spec.name, assignment.origin)


def _aspect_warning(assignment: Assignment, model: str, log: IssueLog) -> None:
    rule = _range_for(assignment, model)
    if rule is None or rule.warn_above is None or _ratio(assignment.value) <= rule.warn_above:
        return
    # A warning is part of the Prompt: it names the canonical flag, not the alias written.
    beyond = f"{format_number(rule.warn_above)}:1"
    message = (
        f"--{assignment.spec.flag} {assignment.value} is beyond {beyond}: "
        "extreme ratios are experimental."
    )
    log.warn(codes.EXPERIMENTAL_ASPECT, message, assignment.span, "ar", assignment.origin)


def check_rules(chosen: dict[str, Assignment], model: str, log: IssueLog) -> None:
    """Leave out unfit settings, then report every broken rule of the table as an error."""
    _leave_out_unfit_settings(chosen, model, log)
    for assignment in chosen.values():
        if not assignment.spec.has_rules:
            continue
        for code, message in _problems(assignment, chosen, model):
            log.error(code, message, assignment.span, assignment.spec.name, assignment.origin)
        if assignment.spec.kind is Kind.ASPECT:
            _aspect_warning(assignment, model, log)
