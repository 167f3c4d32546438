import pytest

from bot.quota.models import Limits, resolve_limits
from bot.settings import QuotaSettings
from bot.store.budgets import BudgetLimit, BudgetScope

MEMBER, ROLE_A, ROLE_B = 7, 100, 200


def limit(scope: BudgetScope, subject: int, amount: int | None) -> BudgetLimit:
    return BudgetLimit(
        scope=scope, subject_id=subject, amount=amount, actor_id=1, reason="", updated_at=0.0
    )


POOL = limit(BudgetScope.GUILD, 0, 50_000)
DEFAULT = limit(BudgetScope.DEFAULT, 0, 5_000)
ROLE_A_LIMIT = limit(BudgetScope.ROLE, ROLE_A, 8_000)
ROLE_B_LIMIT = limit(BudgetScope.ROLE, ROLE_B, 12_000)
ROLE_B_UNLIMITED = limit(BudgetScope.ROLE, ROLE_B, None)
OVERRIDE = limit(BudgetScope.MEMBER, MEMBER, 1_000)
OTHER_MEMBER = limit(BudgetScope.MEMBER, MEMBER + 1, 99_000)
SETTINGS = QuotaSettings(default_guild_budget=30, default_member_budget=3)


@pytest.mark.parametrize(
    ("rows", "roles", "expected"),
    [
        ([], [], Limits(member=3_000, guild=30_000)),
        ([POOL], [], Limits(member=3_000, guild=50_000)),
        ([DEFAULT], [ROLE_A], Limits(member=5_000, guild=30_000)),
        ([DEFAULT, ROLE_A_LIMIT], [], Limits(member=5_000, guild=30_000)),
        ([DEFAULT, ROLE_A_LIMIT], [ROLE_A], Limits(member=8_000, guild=30_000)),
        (
            [DEFAULT, ROLE_A_LIMIT, ROLE_B_LIMIT],
            [ROLE_A, ROLE_B],
            Limits(member=12_000, guild=30_000),
        ),
        ([ROLE_A_LIMIT, ROLE_B_UNLIMITED], [ROLE_A, ROLE_B], Limits(member=None, guild=30_000)),
        ([DEFAULT, ROLE_B_LIMIT, OVERRIDE], [ROLE_B], Limits(member=1_000, guild=30_000)),
        ([OTHER_MEMBER], [], Limits(member=3_000, guild=30_000)),
    ],
)
def test_member_override_beats_highest_role_beats_default_beats_settings(
    rows: list[BudgetLimit], roles: list[int], expected: Limits
) -> None:
    assert resolve_limits(rows, SETTINGS, user_id=MEMBER, role_ids=roles) == expected


def test_without_budgets_anywhere_everything_is_unlimited() -> None:
    assert resolve_limits([], QuotaSettings(), user_id=MEMBER, role_ids=[]) == Limits(
        member=None, guild=None
    )
