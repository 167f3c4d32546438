"""The quota service: reserve, settle and inspect credits; moderators' budget controls.

``reserve``, ``commit`` and ``refund`` run inside the caller's transaction (``JobService``
reserves while it inserts the jobs). Everything else opens its own. Each credit movement
appends a ledger entry and changes the usage summary in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from bot.errors import QuotaExceeded
from bot.quota.admin import BudgetControls
from bot.quota.costs import format_credits
from bot.quota.models import Balance, GuildBudgets, resolve_limits
from bot.quota.periods import PeriodWindow
from bot.store.budgets import NO_SUBJECT, BudgetScope, GuildPeriod
from bot.store.database import Transaction
from bot.store.ledger import LedgerEntry, LedgerKind, NewLedgerEntry
from bot.store.reservations import Reservation, ReservationState
from bot.store.usage import UsageKey

log = logging.getLogger(__name__)


class QuotaService(BudgetControls):
    """Credits per guild and member: atomic reservations, an append-only ledger, budgets."""

    # --- inside the caller's transaction -------------------------------------------------

    async def reserve(
        self,
        tx: Transaction,
        *,
        guild_id: int,
        user_id: int,
        role_ids: Sequence[int],
        job_id: int,
        amount: int,
    ) -> None:
        """Hold ``amount`` for a job from both the member's allowance and the guild pool."""
        await self.reserve_many(
            tx, guild_id=guild_id, user_id=user_id, role_ids=role_ids, amounts={job_id: amount}
        )

    async def reserve_many(
        self,
        tx: Transaction,
        *,
        guild_id: int,
        user_id: int,
        role_ids: Sequence[int],
        amounts: Mapping[int, int],
    ) -> None:
        """Hold every job's amount (job id: amount) for one member: all of them, or none."""
        if any(amount < 0 for amount in amounts.values()):
            raise ValueError(f"a job cannot cost a negative amount ({dict(amounts)})")
        if not amounts:
            return
        window, limits = await self.window_and_limits_in(
            tx, guild_id=guild_id, user_id=user_id, role_ids=role_ids
        )
        now = self._clock()
        if not await self._reservations.create_many(
            tx,
            guild_id=guild_id,
            user_id=user_id,
            amounts=amounts,
            period_start=window.start_ts,
            created_at=now,
        ):
            # A bug in the caller: its transaction rolls back, so nothing is held twice.
            raise ValueError(f"a job among {sorted(amounts)} already holds a reservation")
        member = window.usage_key(guild_id, user_id)
        pool = window.usage_key(guild_id, None)
        # Amounts are never negative: the whole sum fits exactly when each job fits in turn.
        total = sum(amounts.values())
        refused = await self._usage.try_reserve_pair(
            tx, member, pool, total, member_limit=limits.member, pool_limit=limits.guild
        )
        if refused is not None:
            # Undo this call's writes: the caller's transaction may go on (e.g. as relax).
            await self._reservations.discard_many(tx, list(amounts))
            if refused is member:
                raise await self._exceeded(tx, "member", member, limits.member, total, window)
            raise await self._exceeded(tx, "guild", pool, limits.guild, total, window)
        await self._ledger.append_many(
            tx,
            [
                NewLedgerEntry(
                    guild_id=guild_id,
                    user_id=user_id,
                    job_id=job_id,
                    kind=LedgerKind.RESERVE,
                    amount=amount,
                    actor_id=user_id,
                    reason="job submitted",
                    created_at=now,
                    period_start=window.start_ts,
                )
                for job_id, amount in amounts.items()
            ],
        )

    async def commit(self, tx: Transaction, *, job_id: int) -> None:
        """Charge a job's reservation (it was delivered); a second call does nothing."""
        await self.commit_many(tx, [job_id])

    async def commit_many(self, tx: Transaction, job_ids: Sequence[int]) -> None:
        """``commit`` for several jobs, in one trip per table."""
        await self._settle(tx, job_ids, ReservationState.COMMITTED, "job delivered")

    async def refund(self, tx: Transaction, *, job_id: int, reason: str) -> None:
        """Give a job's reservation back; does nothing once the job was settled."""
        await self.refund_many(tx, [job_id], reason=reason)

    async def refund_many(self, tx: Transaction, job_ids: Sequence[int], *, reason: str) -> None:
        """``refund`` for several jobs, in one trip per table."""
        await self._settle(tx, job_ids, ReservationState.REFUNDED, reason)

    async def _settle(
        self, tx: Transaction, job_ids: Sequence[int], state: ReservationState, reason: str
    ) -> None:
        now = self._clock()
        settled = await self._reservations.settle_many(tx, job_ids, state, now)
        if len(settled) < len(job_ids):
            await self._explain_unsettled(tx, job_ids, settled, state)
        charged = state is ReservationState.COMMITTED
        held: dict[UsageKey, tuple[int, int]] = {}
        for reservation in settled:
            for user_id in (reservation.user_id, None):
                key = UsageKey(
                    guild_id=reservation.guild_id,
                    user_id=user_id,
                    period_start=reservation.period_start,
                )
                amount, jobs = held.get(key, (0, 0))
                held[key] = (amount + reservation.amount, jobs + 1)
        await self._usage.settle_many(tx, held, charged=charged)
        await self._ledger.append_many(
            tx,
            [
                NewLedgerEntry(
                    guild_id=reservation.guild_id,
                    user_id=reservation.user_id,
                    job_id=reservation.job_id,
                    kind=LedgerKind.COMMIT if charged else LedgerKind.REFUND,
                    amount=reservation.amount,
                    actor_id=None,
                    reason=reason,
                    created_at=now,
                    period_start=reservation.period_start,
                )
                for reservation in settled
            ],
        )

    async def _explain_unsettled(
        self,
        tx: Transaction,
        job_ids: Sequence[int],
        settled: Sequence[Reservation],
        state: ReservationState,
    ) -> None:
        moved = {reservation.job_id for reservation in settled}
        others = await self._reservations.get_many(tx, [i for i in job_ids if i not in moved])
        found = {reservation.job_id: reservation for reservation in others}
        for job_id in job_ids:
            if job_id in moved:
                continue
            held = found.get(job_id)
            if held is None:
                log.warning("job %s has no reservation to %s", job_id, state.value)
            elif held.state is not state:
                log.warning(
                    "job %s was already %s; ignoring %s", job_id, held.state.value, state.value
                )

    async def _exceeded(
        self,
        tx: Transaction,
        scope: str,
        key: UsageKey,
        limit: int | None,
        needed: int,
        window: PeriodWindow,
    ) -> QuotaExceeded:
        available = (await self._usage.get(tx, key)).remaining(limit) or 0
        unit = self._settings.unit_name
        refill = f"<t:{int(window.end.timestamp())}:R>"
        left = f"{format_credits(available)} {unit} left"
        if scope == "member":
            message = (
                f"Not enough {unit}: this needs {format_credits(needed)} and you have {left}. "
                f"Your allowance refills {refill}; until then a moderator can grant you more."
            )
        else:
            message = (
                f"This server's pool has {left} and this needs {format_credits(needed)}. "
                f"It refills {refill}; a moderator can raise the pool."
            )
        return QuotaExceeded(message, needed=needed, available=available, scope=scope)

    # --- each in its own transaction ------------------------------------------------------

    async def balance(self, *, guild_id: int, user_id: int, role_ids: Sequence[int]) -> Balance:
        """The member's and the guild pool's standing this period."""
        async with self._db.transaction() as tx:
            window = await self.window_in(tx, guild_id)
            limits = await self.limits_in(tx, guild_id=guild_id, user_id=user_id, role_ids=role_ids)
            member_key = window.usage_key(guild_id, user_id)
            pool_key = window.usage_key(guild_id, None)
            member = await self._usage.get(tx, member_key)
            pool = await self._usage.get(tx, pool_key)
            lifetime_used, lifetime_jobs = await self._usage.lifetime(
                tx, guild_id=guild_id, user_id=user_id
            )
        return Balance(
            member_limit=None if limits.member is None else limits.member + member.bonus,
            member_used=member.used,
            member_reserved=member.reserved,
            member_remaining=member.remaining(limits.member),
            guild_limit=None if limits.guild is None else limits.guild + pool.bonus,
            guild_used=pool.used,
            guild_reserved=pool.reserved,
            guild_remaining=pool.remaining(limits.guild),
            period=window.period,
            period_start=window.start,
            period_end=window.end,
            lifetime_used=lifetime_used,
            lifetime_jobs=lifetime_jobs,
        )

    async def ledger(
        self, *, guild_id: int, user_id: int | None = None, limit: int = 20, offset: int = 0
    ) -> list[LedgerEntry]:
        """Ledger entries, newest first: the guild's, or one member's."""
        async with self._db.transaction() as tx:
            return await self._ledger.page(
                tx, guild_id=guild_id, user_id=user_id, limit=limit, offset=offset
            )

    async def budgets(self, *, guild_id: int) -> GuildBudgets:
        """The guild's period, pool, default allowance and overrides, with the pool's usage."""
        async with self._db.transaction() as tx:
            choice = await self._budgets.period(tx, guild_id)
            window = await self.window_in(tx, guild_id)
            rows = await self._budgets.limits(tx, guild_id)
            limits = resolve_limits(rows, self._settings, user_id=NO_SUBJECT, role_ids=())
            pool = await self._usage.get(tx, window.usage_key(guild_id, None))
        scopes = {row.scope for row in rows}
        return GuildBudgets(
            guild_id=guild_id,
            period=window.period,
            reset_hour=window.reset_hour,
            period_is_default=choice == GuildPeriod(),
            period_end=window.end,
            pool=limits.guild,
            pool_is_default=BudgetScope.GUILD not in scopes,
            default_member=limits.member,
            default_member_is_default=BudgetScope.DEFAULT not in scopes,
            roles={r.subject_id: r.amount for r in rows if r.scope is BudgetScope.ROLE},
            members={r.subject_id: r.amount for r in rows if r.scope is BudgetScope.MEMBER},
            pool_used=pool.used,
            pool_reserved=pool.reserved,
            pool_remaining=pool.remaining(limits.guild),
        )
