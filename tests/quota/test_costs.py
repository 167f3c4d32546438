import pytest

from bot.model import SpeedMode
from bot.quota import MILLI, CostModel, format_credits, to_millicredits
from bot.settings import CostSettings

model = CostModel(CostSettings())


@pytest.mark.parametrize(
    ("action", "speed", "quality", "draft", "oref", "expected"),
    [
        ("imagine", SpeedMode.FAST, 1.0, False, False, 1000),
        ("imagine", SpeedMode.TURBO, 1.0, False, False, 2000),
        ("imagine", SpeedMode.RELAX, 1.0, False, False, 0),
        ("imagine", SpeedMode.FAST, 0.25, False, False, 250),
        ("imagine", SpeedMode.FAST, 0.5, False, False, 500),
        ("imagine", SpeedMode.FAST, 2.0, False, False, 2000),
        ("imagine", SpeedMode.FAST, 4.0, False, False, 4000),
        ("imagine", SpeedMode.FAST, 1.0, True, False, 500),
        ("imagine", SpeedMode.FAST, 1.0, False, True, 2000),
        ("imagine", SpeedMode.TURBO, 4.0, True, True, 8000),
        ("upscale", SpeedMode.FAST, 1.0, False, False, 250),
        ("upscale", SpeedMode.TURBO, 0.25, True, False, 63),
        ("upscale_subtle", SpeedMode.FAST, 1.0, False, False, 2000),
        ("describe", SpeedMode.TURBO, 1.0, False, True, 1000),
        ("variation", SpeedMode.RELAX, 4.0, False, True, 0),
    ],
)
def test_cost_multiplies_base_speed_quality_draft_and_oref(
    action: str, speed: SpeedMode, quality: float, draft: bool, oref: bool, expected: int
) -> None:
    assert model.cost(action, speed=speed, quality=quality, draft=draft, oref=oref) == expected


def test_every_priced_action_costs_its_base_at_fast_quality_one() -> None:
    costs = CostSettings()
    for action, base in costs.base.items():
        assert model.cost(action, speed=SpeedMode.FAST) == round(base * MILLI)
    assert model.actions == frozenset(costs.base)


def test_configured_multipliers_are_used() -> None:
    custom = CostModel(
        CostSettings(
            base={"imagine": 0.1},
            speed={"fast": 3.0, "turbo": 5.0, "relax": 0.0},
            quality={"1": 1.5},
            draft=0.2,
            oref=10.0,
        )
    )
    assert custom.cost("imagine", speed=SpeedMode.FAST) == 450
    assert custom.cost("imagine", speed=SpeedMode.TURBO, draft=True, oref=True) == 1500


def test_a_quality_outside_the_table_costs_in_proportion() -> None:
    assert model.cost("imagine", speed=SpeedMode.FAST, quality=3.0) == 3000


def test_an_unknown_action_names_the_known_ones() -> None:
    for _ in range(2):  # a refusal is never remembered as a price
        with pytest.raises(ValueError, match="known: blend"):
            model.cost("explode", speed=SpeedMode.FAST)


_INPUTS = [
    (speed, quality, draft)
    for speed in SpeedMode
    for quality in (0.5, 1.0, 2.0)
    for draft in (False, True)
]


def test_a_remembered_price_is_the_same_answer_and_inputs_stay_apart() -> None:
    remembering = CostModel(CostSettings())

    def prices() -> list[int]:
        return [remembering.cost("imagine", speed=s, quality=q, draft=d) for s, q, d in _INPUTS]

    first = prices()
    assert prices() == first
    # Each input priced by a model asked nothing else: a key that lost an input would have
    # answered one input with another's price above.
    assert first == [
        CostModel(CostSettings()).cost("imagine", speed=s, quality=q, draft=d)
        for s, q, d in _INPUTS
    ]


@pytest.mark.parametrize(
    ("millicredits", "text"),
    [
        (0, "0"),
        (1000, "1"),
        (10000, "10"),
        (1250, "1.25"),
        (500, "0.5"),
        (1, "0.001"),
        (62, "0.062"),
        (-500, "-0.5"),
        (-3000, "-3"),
        (123456789, "123456.789"),
    ],
)
def test_format_credits(millicredits: int, text: str) -> None:
    assert format_credits(millicredits) == text


@pytest.mark.parametrize(
    ("credits", "millicredits"),
    [(0, 0), (2.5, 2500), (0.1, 100), (0.0005, 1), (1e-4, 0), (100, 100000)],
)
def test_to_millicredits_rounds_half_up(credits: float, millicredits: int) -> None:
    assert to_millicredits(credits) == millicredits
