"""Response modes: counted in every cell, email as the rest, open-link answers apart from completed."""

from __future__ import annotations

import pytest

from chalicelib.domain import modes
from chalicelib.domain.cells import merge, spread
from chalicelib.domain.model import DIMENSIONS, Response
from chalicelib.domain.summary import funnel


def test_mode_is_a_dimension_and_a_response_without_one_is_email() -> None:
    assert "mode" in DIMENSIONS
    legacy = Response("w", "p", "e", "n", {}, {"language": "en"}, "en")
    assert legacy.mode == "email"
    assert Response("w", "p", "e", "n", {}, modes.with_mode({"language": "en"}, "qr"), "en").mode == "qr"


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        modes.with_mode({}, "fax")
    with pytest.raises(ValueError):
        modes.completion("fax")


def test_completion_counts_open_apart() -> None:
    assert modes.completion("email") == {"f:completed": 1}
    assert modes.completion("qr") == {"f:completed": 1, "m:qr": 1}
    assert modes.completion("paper") == {"f:completed": 1, "m:paper": 1}
    assert modes.completion("open") == {"m:open": 1}


def test_funnel_by_mode_email_is_the_rest_and_open_is_not_completed() -> None:
    cells = {"language": "en", "stakeholder_group": "government"}
    parts = [spread(cells, {"f:invited": 1, "f:delivered": 1}) for _ in range(5)]
    parts += [spread(cells, {"f:completed": 1})]  # stored before modes existed
    parts += [spread(modes.with_mode(cells, "email"), modes.completion("email"))]
    parts += [spread(modes.with_mode(cells, "qr"), modes.completion("qr")) for _ in range(2)]
    parts += [spread(modes.with_mode({"language": "en"}, "open"), modes.completion("open")) for _ in range(3)]
    counters = merge(*parts)
    language = {k.split("#", 1)[1]: v for k, v in counters.items() if k.startswith("language#")}
    out = funnel(language["en"])
    assert out["completed"] == 4
    assert out["response_rate"] == 80.0
    assert out["by_mode"] == {"email": 2, "qr": 2, "open": 3, "paper": 0}


def test_mode_breakdown_puts_the_rest_under_email() -> None:
    base = {
        "en": {"f:invited": 4, "f:completed": 3, "m:qr": 1, "n:q": 3},
        "fr": {"f:invited": 1, "f:completed": 1, "n:q": 1},
    }
    by_mode = {"qr": {"f:completed": 1, "m:qr": 1, "n:q": 1}, "email": {"f:completed": 1, "n:q": 1}}
    out = modes.mode_breakdown(base, by_mode)
    assert out["qr"] == {"f:completed": 1, "m:qr": 1, "n:q": 1}
    assert out["email"] == {"f:invited": 5, "f:completed": 3, "n:q": 3}
