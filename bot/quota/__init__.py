"""Quota: the cost model, budgets per period and the append-only credit ledger (no discord)."""

from bot.quota.costs import MILLI, CostModel, format_credits, to_millicredits
from bot.quota.models import Balance, GuildBudgets, Limits
from bot.quota.periods import PeriodWindow, period_window
from bot.quota.service import QuotaService
from bot.store.budgets import BudgetPeriod
from bot.store.ledger import LedgerEntry, LedgerKind

__all__ = [
    "MILLI",
    "Balance",
    "BudgetPeriod",
    "CostModel",
    "GuildBudgets",
    "LedgerEntry",
    "LedgerKind",
    "Limits",
    "PeriodWindow",
    "QuotaService",
    "format_credits",
    "period_window",
    "to_millicredits",
]
