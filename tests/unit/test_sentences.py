"""Ready-to-paste report sentences: house style in English, French and Spanish, with n, N and the interval."""

from __future__ import annotations

import pytest

from chalicelib.domain.catalogue import builtin
from chalicelib.domain.sentences import report_sentences
from chalicelib.domain.stats import wilson_interval
from chalicelib.domain.summary import build_summary

SATISFACTION = builtin("satisfaction")
K = 5


def entry(qid: str, agree: int, n: int, agree_pct: float, **extra) -> dict:
    return {
        "id": qid,
        "n": n,
        "agree": agree,
        "agree_pct": agree_pct,
        "ci95": list(wilson_interval(agree, n)),
        **extra,
    }


SEED = [
    entry("mutual_learning", 98, 100, 98.0),
    entry("understanding", 96, 100, 96.0),
    entry("cooperation_measures", 85, 100, 85.0),
]


def test_given_the_three_seed_indicators_then_the_english_sentence_is_the_house_example():
    sentences = report_sentences(SATISFACTION, SEED, k=K)
    assert sentences["en"][0] == (
        "Ninety-eight per cent of respondents indicated that the workshop had furthered mutual learning among "
        "governments and other actors, 96 per cent that it had helped enhance understanding of the issues, and "
        "85 per cent that it had served to identify measures of international cooperation and effective policies."
    )


def test_given_the_three_seed_indicators_then_the_french_and_spanish_sentences_spell_out_the_first_number():
    sentences = report_sentences(SATISFACTION, SEED, k=K)
    assert sentences["fr"][0].startswith("Quatre-vingt-dix-huit pour cent des répondants ont indiqué que")
    assert sentences["es"][0].startswith("Noventa y ocho por ciento de los encuestados indicó que")
    assert " et 85 pour cent qu'il " in sentences["fr"][0]  # elided before a vowel, never "que il"
    assert " y 85 por ciento que " in sentences["es"][0]


def test_given_the_three_seed_indicators_then_each_also_gets_its_own_sentence_with_n_and_the_interval():
    sentences = report_sentences(SATISFACTION, SEED, k=K)
    assert len(sentences["en"]) == 1 + 3
    assert sentences["en"][1].startswith("Ninety-eight per cent of respondents indicated that the workshop had")
    assert "(98 of 100 respondents; 95% confidence interval" in sentences["en"][1]
    assert "(96 sur 100 répondants ;" in sentences["fr"][2]
    assert "(85 de 100 encuestados;" in sentences["es"][3]


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"suppressed": True}, id="suppressed"),
        pytest.param({"n": K - 1, "agree": K - 1, "agree_pct": 100.0}, id="n below k"),
        pytest.param({"agree": None, "agree_pct": None, "ci95": None}, id="no agreement"),
    ],
)
def test_given_an_entry_that_must_not_be_reported_then_it_produces_no_sentence(changed):
    hidden = {**SEED[0], **changed}
    sentences = report_sentences(SATISFACTION, [hidden], k=K)
    assert sentences == {"en": [], "fr": [], "es": []}
    # Alongside reportable entries it is simply left out.
    mixed = report_sentences(SATISFACTION, [hidden, *SEED[1:]], k=K)
    assert len(mixed["en"]) == 1 + 2
    assert mixed["en"][0].startswith("Ninety-six per cent of respondents indicated that it had helped")
    assert not any("furthered mutual learning" in s for s in mixed["en"])


def test_given_a_question_without_a_statement_or_unknown_then_it_produces_no_sentence():
    assert report_sentences(SATISFACTION, [entry("overall", 9, 10, 90.0), entry("nope", 9, 10, 90.0)], k=K) == {
        "en": [],
        "fr": [],
        "es": [],
    }


def test_given_a_large_n_then_the_footnote_gives_the_raw_agree_count_not_one_rebuilt_from_the_percentage():
    # 1001 of 3000 is 33.37 per cent, shown as 33.4; 33.4 per cent of 3000 would be 1002.
    sentences = report_sentences(SATISFACTION, [entry("mutual_learning", 1001, 3000, 33.4)], k=K)
    (sentence,) = sentences["en"]
    assert sentence.startswith("Thirty-three per cent of respondents indicated that")
    assert "(1001 of 3000 respondents; 95% confidence interval" in sentence
    assert "(1001 sur 3000 répondants ;" in sentences["fr"][0]
    assert "(1001 de 3000 encuestados;" in sentences["es"][0]


def test_given_a_summary_built_from_counters_then_its_sentences_use_the_exact_count():
    cells = {"government": {"n:mutual_learning": 3000, "a:mutual_learning:5": 1001, "a:mutual_learning:1": 1999}}
    summary = build_summary(
        event_id="e", wave_id="w", questionnaire=SATISFACTION, cells=cells, by="stakeholder_group", k=K
    )
    sentences = report_sentences(SATISFACTION, summary["questions"], k=K)
    assert "(1001 of 3000 respondents; 95% confidence interval" in sentences["en"][0]


def test_french_elides_que_before_a_vowel_and_keeps_it_before_a_consonant():
    fr = report_sentences(SATISFACTION, SEED, k=K)["fr"]
    assert fr[0].startswith("Quatre-vingt-dix-huit pour cent des répondants ont indiqué que l'atelier avait")
    assert "96 pour cent qu'il avait contribué à une meilleure compréhension des enjeux" in fr[0]
    assert "85 pour cent qu'il avait permis de recenser" in fr[0]
    assert fr[2].startswith("Quatre-vingt-seize pour cent des répondants ont indiqué qu'il avait contribué")
    assert not any("que il" in sentence or "que elle" in sentence for sentence in fr)


def test_given_pooled_impact_figures_then_the_series_sentences_say_almost_all_only_when_the_interval_allows():
    from chalicelib.domain.sentences import pooled_quantifier, pooled_sentences

    impact = builtin("impact")
    questions = [
        entry("shared_with_colleagues", 188, 200, 94.0),  # interval from about 90: "almost all"
        entry("kept_contacts", 14, 15, 93.3),  # the same share of 15: interval from about 70, only "most"
        entry("applied_in_work", 110, 200, 55.0),  # interval from about 48: no word, the percentage alone
        entry("best_practices", 3, 4, 75.0, suppressed=True),
    ]
    out = pooled_sentences(impact, questions, k=K, events=2)
    assert out["en"][0] == "Figures pooled across the 2 events of the series."
    assert out["en"][1] == (
        "Almost all respondents (94 per cent) reported that they had shared information and workshop materials "
        "with colleagues in their institution (188 of 200 respondents; 95% confidence interval 90–96 per cent)."
    )
    assert out["en"][2].startswith("Most respondents (93 per cent) reported that they had kept in touch")
    assert out["en"][3].startswith("Fifty-five per cent of respondents indicated that they had applied")
    assert len(out["en"]) == 4  # nothing from the suppressed figure
    assert out["fr"][1].startswith("La quasi-totalité des répondants (94 pour cent) ont indiqué qu'ils avaient")
    assert out["es"][1].startswith("Casi todos los encuestados (94 por ciento) indicaron que")
    assert pooled_quantifier(96.0, [84.9, 98.0]) == "most"
    assert pooled_quantifier(89.0, [86.0, 91.0]) == "most"  # "almost all" also needs 90 per cent or more
