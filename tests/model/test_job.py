"""The job record on its own: the state machine, kinds of actions, the JSON it carries."""

import dataclasses

import pytest

from bot.errors import IllegalTransition
from bot.model import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    Job,
    JobKind,
    JobState,
    ProviderButton,
    SpeedMode,
    check_transition,
    encode_buttons,
    encode_urls,
    kind_of_action,
)
from bot.model.compact import pack


@pytest.mark.parametrize("source", list(JobState))
@pytest.mark.parametrize("target", list(JobState))
def test_only_the_listed_transitions_pass(source: JobState, target: JobState) -> None:
    if target in TRANSITIONS[source]:
        check_transition(source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(source, target)


def test_terminal_states_have_no_way_out_and_active_ones_do() -> None:
    assert all(not TRANSITIONS[state] for state in TERMINAL_STATES)
    assert all(TRANSITIONS[state] for state in ACTIVE_STATES)
    assert set(TERMINAL_STATES) | set(ACTIVE_STATES) == set(JobState)


def test_every_action_has_a_job_kind() -> None:
    kinds = {action: kind_of_action(action) for action in Action}
    assert kinds[Action.UPSCALE] is JobKind.UPSCALE
    assert kinds[Action.PAN_LEFT] is JobKind.PAN


def _job(**changes: object) -> Job:
    job = Job(
        *(7, 1, 2, 3, JobKind.IMAGINE, None, 0, None, "a fox --seed 1", "{}", 1, False),
        *(SpeedMode.FAST, 1000, JobState.QUEUED, None, "[]", 0, None, None, None, "[]"),
        *(None, None, None, 1.0, None, None, 0),
    )
    return dataclasses.replace(job, **changes)  # type: ignore[arg-type]


def test_json_fields_read_back_packed_or_plain() -> None:
    buttons = (ProviderButton(custom_id="MJ::JOB::upsample::1::t", action=Action.UPSCALE, index=1),)
    urls = ("https://cdn.test/1.png",)
    for encode in (str, pack):
        job = _job(
            params_json=encode('{"draft": true}'),
            buttons_json=encode(encode_buttons(buttons)),
            result_urls_json=encode(encode_urls(urls)),
        )
        assert (job.params, job.provider_buttons, job.result_urls) == (
            {"draft": True},
            buttons,
            urls,
        )


def test_an_unfinished_job_has_no_buttons_or_results() -> None:
    job = _job()
    assert (job.params, job.provider_buttons, job.result_urls) == ({}, (), ())
