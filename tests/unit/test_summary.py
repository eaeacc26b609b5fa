"""The impact summary built from aggregate counters: funnel, figures per question, small-cell suppression."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.catalogue import builtin
from chalicelib.domain.stats import mean_of, wilson_interval
from chalicelib.domain.summary import build_summary, suppressed_cells

SATISFACTION = builtin("satisfaction")
IMPACT = builtin("impact")
K = 5


def likert_cell(qid: str, counts: dict[str, int]) -> dict[str, int]:
    cell = {f"a:{qid}:{value}": count for value, count in counts.items()}
    cell[f"n:{qid}"] = sum(counts.values())
    return cell


def merge(*parts: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in parts:
        out.update(part)
    return out


# Three stakeholder groups; academia is below the threshold on mutual_learning and overall.
CELLS = {
    "government": merge(
        {"f:invited": 20, "f:delivered": 19, "f:bounced": 1, "f:opened": 15, "f:completed": 10},
        likert_cell("mutual_learning", {"5": 4, "4": 3, "3": 2, "1": 1}),
        likert_cell("understanding", {"5": 5, "4": 5}),
        likert_cell("overall", {"5": 5, "4": 5}),
        likert_cell("materials", {"4": 3}),
        {"n:comments": 6},
    ),
    "media": merge(
        {"f:invited": 10, "f:delivered": 10, "f:opened": 8, "f:completed": 6},
        likert_cell("mutual_learning", {"5": 1, "4": 2, "2": 3}),
        likert_cell("understanding", {"3": 6}),
        likert_cell("overall", {"3": 6}),
        {"n:comments": 5},
    ),
    "academia": merge(
        {"f:invited": 5, "f:delivered": 4, "f:bounced": 1, "f:opened": 3, "f:completed": 2, "f:opted_out": 1},
        likert_cell("mutual_learning", {"4": 1, "2": 1}),
        likert_cell("overall", {"1": 2}),
    ),
}


@pytest.fixture
def summary():
    return build_summary(
        event_id="ev_1", wave_id="wv_1", questionnaire=SATISFACTION, cells=CELLS, by="stakeholder_group", k=K
    )


def question(summary: dict, qid: str) -> dict:
    return next(q for q in summary["questions"] if q["id"] == qid)


def test_given_counters_when_summarised_then_it_has_the_contract_shape(summary):
    assert summary["event_id"] == "ev_1" and summary["wave_id"] == "wv_1"
    assert summary["suppression_threshold"] == K
    assert [q["id"] for q in summary["questions"]] == [q.id for q in SATISFACTION.questions]
    for entry in summary["questions"]:
        expected = {"id", "indicator", "type", "n", "distribution", "agree", "agree_pct", "ci95", "mean", "groups"}
        assert expected <= set(entry)


def test_given_funnel_counters_from_every_group_when_summarised_then_the_funnel_adds_them_up(summary):
    funnel = summary["funnel"]
    assert {k: funnel[k] for k in ("invited", "delivered", "bounced", "opened", "completed", "opted_out")} == {
        "invited": 35,
        "delivered": 33,
        "bounced": 2,
        "opened": 26,
        "completed": 18,
        "opted_out": 1,
    }
    # Completed out of delivered, not out of invited.
    assert funnel["response_rate"] == 54.5


def test_given_nothing_delivered_then_there_is_no_response_rate():
    result = build_summary(
        event_id="e",
        wave_id="w",
        questionnaire=SATISFACTION,
        cells={"media": {"f:invited": 3}},
        by="stakeholder_group",
        k=K,
    )
    assert result["funnel"]["response_rate"] is None
    assert result["funnel"]["invited"] == 3


def test_given_likert_answers_when_summarised_then_agreement_is_the_share_of_4_and_5(summary):
    entry = question(summary, "mutual_learning")
    assert entry["type"] == "likert" and entry["indicator"] == "mutual_learning"
    assert entry["n"] == 18
    assert entry["distribution"] == {"1": 1, "2": 4, "3": 2, "4": 6, "5": 5}
    assert entry["agree"] == 11
    assert entry["agree_pct"] == 61.1  # 11 of 18
    assert entry["ci95"] == list(wilson_interval(11, 18))
    assert entry["mean"] == mean_of(entry["distribution"]) == 3.56  # 64 / 18


def test_given_a_rating_question_when_summarised_then_it_has_a_mean_and_no_agreement(summary):
    entry = question(summary, "overall")
    assert entry["distribution"] == {"1": 2, "2": 0, "3": 6, "4": 5, "5": 5}
    assert list(entry["distribution"]) == ["1", "2", "3", "4", "5"]
    assert entry["mean"] == round(65 / 18, 2)
    assert entry["agree"] is None and entry["agree_pct"] is None and entry["ci95"] is None


def test_given_a_group_below_k_when_summarised_then_it_and_the_next_smallest_group_are_hidden(summary):
    groups = question(summary, "mutual_learning")["groups"]
    assert groups["academia"] == {"suppressed": True}
    # Showing media would let anyone compute academia as the total minus the others.
    assert groups["media"] == {"suppressed": True}
    assert groups["government"]["n"] == 10
    assert groups["government"]["agree"] == 7
    assert groups["government"]["agree_pct"] == 70.0
    assert groups["government"]["ci95"] == list(wilson_interval(7, 10))


def test_given_a_group_below_k_then_no_hidden_figure_can_be_rebuilt_from_the_total(summary):
    for entry in summary["questions"]:
        if entry.get("suppressed") or not entry["groups"]:
            continue
        hidden_nonempty = [g for g, v in entry["groups"].items() if v.get("suppressed")]
        shown = sum(v["n"] for v in entry["groups"].values() if not v.get("suppressed"))
        assert len(hidden_nonempty) != 1, entry["id"]
        if hidden_nonempty:
            assert entry["n"] - shown > 0


def test_given_every_group_at_or_above_k_then_no_group_is_hidden(summary):
    groups = question(summary, "understanding")["groups"]
    assert groups["government"] == {
        "n": 10,
        "agree": 10,
        "agree_pct": 100.0,
        "ci95": list(wilson_interval(10, 10)),
        "mean": 4.5,
    }
    assert groups["media"] == {"n": 6, "agree": 0, "agree_pct": 0.0, "ci95": list(wilson_interval(0, 6)), "mean": 3.0}
    # A group that did not answer at all reveals nobody.
    assert groups["academia"] == {"n": 0, "agree": 0, "agree_pct": None, "ci95": None, "mean": None}


def test_given_a_question_answered_by_fewer_than_k_then_the_whole_question_is_suppressed(summary):
    entry = question(summary, "materials")
    assert entry["suppressed"] is True
    assert entry["agree"] is None
    assert entry["distribution"] == {}
    assert entry["agree_pct"] is None and entry["ci95"] is None and entry["mean"] is None
    assert entry["groups"] == {}


def test_given_free_text_answers_then_only_the_count_is_shown_and_never_per_group(summary):
    entry = question(summary, "comments")
    assert entry["type"] == "text" and entry["n"] == 11
    assert entry["groups"] == {}
    assert entry["distribution"] == {}
    assert entry["agree_pct"] is None and entry["mean"] is None


def test_given_yes_no_answers_then_agreement_is_the_share_of_yes_and_rating_groups_have_means():
    cells = {
        "yes": merge(likert_cell("applied_in_work", {"yes": 6, "no": 2}), likert_cell("recommend", {"10": 4, "6": 4})),
        "no": merge(likert_cell("applied_in_work", {"yes": 3, "no": 3}), likert_cell("recommend", {"9": 6})),
    }
    result = build_summary(event_id="e", wave_id="w", questionnaire=IMPACT, cells=cells, by="sponsored", k=K)
    applied = question(result, "applied_in_work")
    assert applied["distribution"] == {"yes": 9, "no": 5}
    assert applied["agree"] == 9
    assert applied["agree_pct"] == 64.3
    assert applied["mean"] is None
    assert applied["groups"]["yes"]["agree_pct"] == 75.0
    recommend = question(result, "recommend")
    assert recommend["nps"] == 42.9  # 10 promoters, 4 detractors of 14
    assert recommend["groups"]["no"]["mean"] == 9.0


def test_given_an_unknown_dimension_then_it_is_refused():
    with pytest.raises(ValueError, match="unknown dimension 'religion'"):
        build_summary(event_id="e", wave_id="w", questionnaire=SATISFACTION, cells={}, by="religion", k=K)


# Suppression rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes, hidden",
    [
        ({"a": 2, "b": 10, "c": 30}, {"a", "b"}),
        ({"a": 2, "b": 3, "c": 30}, {"a", "b"}),
        ({"a": 0, "b": 10, "c": 30}, set()),
        ({"a": 2, "b": 0, "c": 30}, {"a", "c"}),
        ({"a": 5, "b": 5}, set()),
        ({"a": 4, "b": 0}, {"a"}),
    ],
)
def test_given_cell_sizes_when_suppressing_then_small_cells_and_one_complement_are_hidden(sizes, hidden):
    assert suppressed_cells(sizes, 5) == hidden


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 40), min_size=2, max_size=8).map(lambda ns: {f"g{i}": n for i, n in enumerate(ns)}),
    k=st.integers(3, 10),
)
def test_given_any_cell_sizes_then_no_hidden_cell_can_be_recovered_from_the_total(sizes, k):
    hidden = suppressed_cells(sizes, k)
    assert hidden <= set(sizes)
    # Every small cell is hidden.
    assert {c for c, n in sizes.items() if 0 < n < k} <= hidden
    hidden_nonempty = [c for c in hidden if sizes[c] > 0]
    others_nonempty = [c for c, n in sizes.items() if n > 0 and c not in hidden]
    if len(hidden_nonempty) == 1:
        assert not others_nonempty, (sizes, k, hidden)
    # Seen through the summary: total minus shown cells never equals a single hidden cell's size.
    cells = {c: likert_cell("mutual_learning", {"4": n}) if n else {} for c, n in sizes.items()}
    result = build_summary(
        event_id="e", wave_id="w", questionnaire=SATISFACTION, cells=cells, by="stakeholder_group", k=k
    )
    entry = question(result, "mutual_learning")
    if entry.get("suppressed"):
        assert 0 < entry["n"] < k and entry["groups"] == {}
        return
    groups = entry["groups"]
    shown = {c: v["n"] for c, v in groups.items() if not v.get("suppressed")}
    hidden_in_view = [c for c, v in groups.items() if v.get("suppressed")]
    assert set(hidden_in_view) == hidden
    assert all(not (0 < n < k) for n in shown.values())
    remainder = entry["n"] - sum(shown.values())
    if remainder:
        assert len(hidden_in_view) >= 2


def test_given_a_large_wave_then_the_agree_count_is_exact_where_the_rounded_percentage_is_not():
    cells = {"government": likert_cell("mutual_learning", {"5": 1001, "1": 1999})}
    result = build_summary(
        event_id="e", wave_id="w", questionnaire=SATISFACTION, cells=cells, by="stakeholder_group", k=K
    )
    entry = question(result, "mutual_learning")
    assert (entry["agree"], entry["n"], entry["agree_pct"]) == (1001, 3000, 33.4)
    # 33.4 per cent of 3000 would give 1002.
    assert round(entry["agree_pct"] * entry["n"] / 100) == 1002
    assert entry["groups"]["government"]["agree"] == 1001
