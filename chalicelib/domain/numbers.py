"""Numbers in report sentences: spelled out at the start of a sentence, digits elsewhere, with "per cent".

House style, after the seed: "Ninety-eight per cent of respondents indicated ..., 96 per cent that ...,
and over 85 per cent that ...". English writes "per cent" as two words, French "pour cent", Spanish
"por ciento". Spelling is traditional (no 1990 French reform): "vingt et un", "quatre-vingts".

Qualifiers, one natural form per language:

======== ============== ================ =================
key      en             fr               es
======== ============== ================ =================
None     98 per cent    98 pour cent     98 por ciento
"over"   over 85 ...    plus de 85 ...   más del 85 ...
"almost" almost 85 ...  près de 85 ...   casi el 85 ...
======== ============== ================ =================

Spanish keeps the article after a qualifier ("más del", "casi el"), where leaving it out reads as wrong;
the bare form follows the house examples ("Noventa y ocho por ciento") and omits it, which the RAE accepts.
"""

from __future__ import annotations

import math

LANGUAGES = ("en", "fr", "es")
QUALIFIERS = ("over", "almost")
STYLES = ("exact", "over")

_EN_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

_FR_UNITS = [
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
    "treize",
    "quatorze",
    "quinze",
    "seize",
    "dix-sept",
    "dix-huit",
    "dix-neuf",
]
_FR_TENS = ["_", "_", "vingt", "trente", "quarante", "cinquante", "soixante"]

# Spanish writes 0-29 as single words, with accents on 16, 22, 23 and 26.
_ES_UNITS = [
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciséis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
    "veintiuno",
    "veintidós",
    "veintitrés",
    "veinticuatro",
    "veinticinco",
    "veintiséis",
    "veintisiete",
    "veintiocho",
    "veintinueve",
]
_ES_TENS = ["_", "_", "_", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa"]

_PER_CENT = {"en": "per cent", "fr": "pour cent", "es": "por ciento"}
_QUALIFIER_WORDS = {
    "en": {"over": "over", "almost": "almost"},
    "fr": {"over": "plus de", "almost": "près de"},
    "es": {"over": "más del", "almost": "casi el"},
}


def _check(n: int, lang: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"expected an int, got {n!r}")
    if not 0 <= n <= 100:
        raise ValueError(f"{n} is outside 0..100")
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {LANGUAGES}")


def _spell_en(n: int) -> str:
    if n == 100:
        return "one hundred"
    if n < 20:
        return _EN_UNITS[n]
    tens, units = divmod(n, 10)
    return _EN_TENS[tens] if units == 0 else f"{_EN_TENS[tens]}-{_EN_UNITS[units]}"


def _spell_fr(n: int) -> str:
    if n == 100:
        return "cent"
    if n < 20:
        return _FR_UNITS[n]
    if n < 70:
        tens, units = divmod(n, 10)
        head = _FR_TENS[tens]
    elif n < 80:
        # 70-79 count on from soixante: soixante-dix, soixante et onze, soixante-douze.
        head, units = "soixante", n - 60
    else:
        # quatre-vingts takes its s only when nothing follows it.
        if n == 80:
            return "quatre-vingts"
        # 81 and 91 take no "et": quatre-vingt-un, quatre-vingt-onze.
        return f"quatre-vingt-{_FR_UNITS[n - 80]}"
    if units == 0:
        return head
    if units in (1, 11):
        return f"{head} et {_FR_UNITS[units]}"
    return f"{head}-{_FR_UNITS[units]}"


def _spell_es(n: int) -> str:
    if n == 100:
        return "cien"
    if n < 30:
        return _ES_UNITS[n]
    tens, units = divmod(n, 10)
    return _ES_TENS[tens] if units == 0 else f"{_ES_TENS[tens]} y {_ES_UNITS[units]}"


_SPELLERS = {"en": _spell_en, "fr": _spell_fr, "es": _spell_es}


def spell(n: int, lang: str) -> str:
    """The number 0..100 written out in lower case in ``lang`` (en, fr or es)."""
    _check(n, lang)
    return _SPELLERS[lang](n)


def percent_phrase(pct: int, lang: str, *, sentence_start: bool, qualifier: str | None = None) -> str:
    """A share in words: spelled out and capitalised at a sentence start ("Ninety-eight per cent")."""
    _check(pct, lang)
    if qualifier is not None and qualifier not in QUALIFIERS:
        raise ValueError(f"unknown qualifier {qualifier!r}; expected None or one of {QUALIFIERS}")
    # "over 100 per cent" and "almost 0 per cent" cannot describe a share of respondents.
    if (qualifier, pct) in (("over", 100), ("almost", 0)):
        raise ValueError(f"{qualifier!r} cannot qualify {pct} per cent")
    number = spell(pct, lang) if sentence_start else str(pct)
    words = [number, _PER_CENT[lang]]
    if qualifier is not None:
        words.insert(0, _QUALIFIER_WORDS[lang][qualifier])
    phrase = " ".join(words)
    return phrase[0].upper() + phrase[1:] if sentence_start else phrase


# A share computed as a ratio, e.g. 17 / 20 * 100, may miss a whole number by a rounding error.
_EPSILON = 1e-9


def report_percent(pct: float, style: str = "exact") -> tuple[int, str | None]:
    """Whole per cent and qualifier for a share: "exact" rounds half up, "over" floors to a multiple of 5."""
    if not math.isfinite(pct) or not 0 <= pct <= 100:
        raise ValueError(f"{pct} is not a percentage in 0..100")
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
    exact = math.floor(pct + 0.5 + _EPSILON)
    if style == "exact":
        return exact, None
    # "over N" with N the multiple of 5 below the share; a share on a multiple of 5 is reported exactly,
    # since "over" means strictly more, and "over 0 per cent" says nothing, so below 5 we report exactly.
    floor5 = math.floor((pct + _EPSILON) / 5) * 5
    if floor5 == 0 or abs(pct - floor5) <= _EPSILON:
        return exact, None
    return floor5, "over"
