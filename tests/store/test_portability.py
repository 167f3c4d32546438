"""The store's SQL keeps to types that mean the same in SQLite and PostgreSQL (DESIGN §10)."""

import re
from pathlib import Path

import pytest

import bot.store

STORE = Path(bot.store.__file__).parent
# PostgreSQL's INTEGER is 32 bits (Discord ids overflow it) and its REAL is 4 bytes (epoch
# seconds lose a minute of precision); SQLite accepts both silently, so only a test notices.
NARROW_CAST = re.compile(r"CAST\s*\([^)]*\bAS\s+(INTEGER|INT|REAL|FLOAT)\b", re.IGNORECASE)


@pytest.mark.parametrize("path", sorted(STORE.glob("*.py")), ids=lambda path: path.name)
def test_no_narrow_casts_in_queries(path: Path) -> None:
    assert NARROW_CAST.findall(path.read_text()) == []


def test_the_pattern_catches_a_narrow_cast() -> None:
    assert NARROW_CAST.findall("SELECT CAST(? AS INTEGER) AS guild_id") == ["INTEGER"]
    assert NARROW_CAST.findall("WHEN ? THEN CAST(? AS DOUBLE PRECISION)") == []
