"""Ready-to-paste report sentences in the organisation's style, in English, French and Spanish."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.domain.numbers import percent_phrase, report_percent
from chalicelib.domain.questionnaires import Questionnaire

LEAD = {
    "en": "{pct} of respondents indicated that {statement}",
    "fr": "{pct} des répondants ont indiqué {que}{statement}",
    "es": "{pct} de los encuestados indicó que {statement}",
}
FOLLOW = {"en": "{pct} that {statement}", "fr": "{pct} {que}{statement}", "es": "{pct} que {statement}"}
LAST_JOIN = {"en": ", and ", "fr": " et ", "es": " y "}
FOOTNOTE = {
    "en": "({agree} of {n} respondents; 95% confidence interval {low}–{high} per cent)",
    "fr": "({agree} sur {n} répondants ; intervalle de confiance à 95 % : {low}–{high} pour cent)",
    "es": "({agree} de {n} encuestados; intervalo de confianza del 95 %: {low}–{high} por ciento)",
}


_VOWELS = "aeiouyàâäéèêëîïôöûüœæ"


def _que(statement: str) -> str:
    """French elides "que" before a vowel: "qu'il avait", "qu'elles", but "que le"."""
    return "qu'" if statement[:1].lower() in _VOWELS else "que "


def _fmt(value: float) -> str:
    return str(round(value))


def report_sentences(
    questionnaire: Questionnaire, questions: Sequence[Mapping[str, Any]], *, k: int
) -> dict[str, list[str]]:
    """One combined sentence over the agreement indicators, then one sentence each with n, N and the interval.

    A suppressed figure (n below k) produces no sentence.
    """
    usable = []
    for entry in questions:
        question = questionnaire.question(str(entry["id"]))
        if question is None or question.statement is None or entry.get("suppressed"):
            continue
        if entry.get("agree_pct") is None or int(entry.get("n") or 0) < k:
            continue
        usable.append((question, entry))
    out: dict[str, list[str]] = {}
    for lang in ("en", "fr", "es"):
        sentences: list[str] = []
        if lang not in questionnaire.languages:
            out[lang] = sentences
            continue
        parts = []
        for index, (question, entry) in enumerate(usable):
            value, qualifier = report_percent(float(entry["agree_pct"]))
            phrase = percent_phrase(value, lang, sentence_start=index == 0, qualifier=qualifier)
            template = LEAD[lang] if index == 0 else FOLLOW[lang]
            statement = question.statement[lang]  # type: ignore[index]
            parts.append(template.format(pct=phrase, statement=statement, que=_que(statement)))
        if len(parts) > 1:
            sentences.append(", ".join(parts[:-1]) + LAST_JOIN[lang] + parts[-1] + ".")
        for question, entry in usable:
            value, qualifier = report_percent(float(entry["agree_pct"]))
            phrase = percent_phrase(value, lang, sentence_start=True, qualifier=qualifier)
            n = int(entry["n"])
            # The raw count: rebuilding it from the rounded percentage can be off by one for large n.
            agree = int(entry["agree"])
            low, high = entry["ci95"]
            note = FOOTNOTE[lang].format(agree=agree, n=n, low=_fmt(low), high=_fmt(high))
            sentences.append(
                LEAD[lang].format(
                    pct=phrase,
                    statement=question.statement[lang],  # type: ignore[index]
                    que=_que(question.statement[lang]),  # type: ignore[index]
                )
                + " "
                + note
                + "."
            )
        out[lang] = sentences
    return out


# Pooled sentences of a series wave: "Almost all respondents (94 per cent) reported that ...". ------------------

ALMOST_ALL_LOW = 85.0  # the 95 % interval's lower bound at least this: "almost all"
MOST_LOW = 50.0  # the lower bound above half: "most"
POOLED = {
    "almost_all": {
        "en": "Almost all respondents ({pct}) reported that {statement}",
        "fr": "La quasi-totalité des répondants ({pct}) ont indiqué {que}{statement}",
        "es": "Casi todos los encuestados ({pct}) indicaron que {statement}",
    },
    "most": {
        "en": "Most respondents ({pct}) reported that {statement}",
        "fr": "La plupart des répondants ({pct}) ont indiqué {que}{statement}",
        "es": "La mayoría de los encuestados ({pct}) indicó que {statement}",
    },
}


def pooled_quantifier(pct: float, ci95: Sequence[float]) -> str | None:
    """The word a pooled figure earns, from its Wilson 95 % interval rather than the point estimate alone:

    - "almost all" when the interval's lower bound is at least 85 per cent (so 94 per cent of 200 qualifies,
      but 94 per cent of 15, whose interval starts near 70, does not);
    - "most" when the lower bound is above 50 per cent (a majority even at the interval's worst);
    - otherwise no word: the sentence gives the percentage as the event reports do.
    """
    low = float(ci95[0])
    if low >= ALMOST_ALL_LOW and pct >= 90.0:
        return "almost_all"
    if low > MOST_LOW:
        return "most"
    return None


def pooled_sentences(
    questionnaire: Questionnaire, questions: Sequence[Mapping[str, Any]], *, k: int, events: int
) -> dict[str, list[str]]:
    """One sentence per agreement indicator of a series wave, pooled over its ``events`` events, in the
    organisation's style ("Almost all respondents (94 per cent) reported that ..."), with n and the interval.
    A suppressed figure (n below k) produces no sentence."""
    out: dict[str, list[str]] = {}
    for lang in ("en", "fr", "es"):
        sentences: list[str] = []
        out[lang] = sentences
        if lang not in questionnaire.languages:
            continue
        for entry in questions:
            question = questionnaire.question(str(entry["id"]))
            if question is None or question.statement is None or entry.get("suppressed"):
                continue
            if entry.get("agree_pct") is None or int(entry.get("n") or 0) < k or not entry.get("ci95"):
                continue
            pct = float(entry["agree_pct"])
            value, qualifier = report_percent(pct)
            statement = question.statement[lang]
            note = FOOTNOTE[lang].format(
                agree=int(entry["agree"]), n=int(entry["n"]), low=_fmt(entry["ci95"][0]), high=_fmt(entry["ci95"][1])
            )
            word = pooled_quantifier(pct, entry["ci95"])
            if word is None:
                phrase = percent_phrase(value, lang, sentence_start=True, qualifier=qualifier)
                text = LEAD[lang].format(pct=phrase, statement=statement, que=_que(statement))
            else:
                phrase = percent_phrase(value, lang, sentence_start=False, qualifier=qualifier)
                text = POOLED[word][lang].format(pct=phrase, statement=statement, que=_que(statement))
            sentences.append(f"{text} {note}.")
        if sentences:
            sentences.insert(0, POOLED_INTRO[lang].format(events=events))
    return out


POOLED_INTRO = {
    "en": "Figures pooled across the {events} events of the series.",
    "fr": "Chiffres regroupés sur les {events} événements de la série.",
    "es": "Cifras agrupadas de los {events} eventos de la serie.",
}
