import json

import pytest

from bot.model.compact import pack, unpack


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"ar": "16:9", "seed": 12, "no": ["cats"], "version": "6.1"}, sort_keys=True),
        json.dumps([f"https://cdn.discordapp.com/attachments/1/2/grid_{n}.png" for n in range(4)]),
        '[{"custom_id":"MJ::JOB::upsample::1::9f2e","label":"U1","emoji":"","style":2,"type":2}]',
        json.dumps(["ünïcode ✨"]),
    ],
)
def test_packed_values_come_back_as_the_same_text(text: str) -> None:
    stored = pack(text)
    assert unpack(stored) == text


def test_packing_makes_the_usual_columns_much_smaller() -> None:
    buttons = json.dumps(
        [
            {"custom_id": f"MJ::JOB::{kind}::{n}::1234567890", "label": f"{kind[0].upper()}{n}"}
            for kind in ("upsample", "variation")
            for n in range(1, 5)
        ]
    )
    assert len(pack(buttons)) < len(buttons) / 4


def test_short_values_are_their_own_bytes_and_text_stored_before_stays_readable() -> None:
    assert pack("[]") == b"[]"
    assert pack("{}") == b"{}"
    assert pack('["x"]') == b'["x"]'  # packing would not make it shorter
    assert unpack('{"seed": 1}') == '{"seed": 1}'
    assert unpack(b'["cast to a blob"]') == '["cast to a blob"]'
