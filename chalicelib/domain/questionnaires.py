"""Questionnaires as data: parsing a definition, and validating a participant's answers against it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import LANGUAGES
from chalicelib.domain.text import one_line_problem

QUESTION_TYPES = ("likert", "yes_no", "single_choice", "multiple_choice", "rating", "nps", "text")
SCALES: dict[str, tuple[str, ...]] = {
    "likert": ("1", "2", "3", "4", "5"),
    "rating": ("1", "2", "3", "4", "5"),
    "nps": tuple(str(i) for i in range(11)),
    "yes_no": ("yes", "no"),
}
NUMERIC_TYPES = ("likert", "rating", "nps")
AGREE_VALUES: dict[str, tuple[str, ...]] = {"likert": ("4", "5"), "yes_no": ("yes",)}
DEFAULT_TEXT_LIMIT = 2000
MAX_TEXT_LIMIT = 10000
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class Option:
    id: str
    label: Mapping[str, str]


@dataclass(frozen=True)
class Condition:
    """Show a question only when an earlier question's answer equals (or includes) ``equals``."""

    question: str
    equals: str


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: Mapping[str, str]
    required: bool
    indicator: str | None = None
    statement: Mapping[str, str] | None = None
    options: tuple[Option, ...] = ()
    max_length: int = DEFAULT_TEXT_LIMIT
    show_if: Condition | None = None
    help: Mapping[str, str] | None = None
    per_event: bool = False  # asked once per event attended, in a series wave (``for_events``)
    event_id: str | None = None  # on a per-event copy: the event it asks about (its id is ``<question>@<event>``)

    @property
    def closed(self) -> bool:
        return self.type != "text"

    def allowed_values(self) -> tuple[str, ...]:
        if self.type in SCALES:
            return SCALES[self.type]
        return tuple(o.id for o in self.options)

    def is_visible(self, answers: Mapping[str, str | list[str]]) -> bool:
        if self.show_if is None:
            return True
        given = answers.get(self.show_if.question)
        if isinstance(given, list):
            return self.show_if.equals in given
        return given == self.show_if.equals


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: int
    languages: tuple[str, ...]
    title: Mapping[str, str]
    intro: Mapping[str, str]
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"


def _text_map(
    raw: Any, where: str, languages: Sequence[str], problems: list[str], *, one_line: bool = True
) -> dict[str, str]:
    """One text per language. Titles, question texts, statements and option labels are one line (they reach
    subjects, table cells and exports: domain/text.py); an intro or a help text may run over several lines."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object with one text per language")
        return {}
    out: dict[str, str] = {}
    for lang in languages:
        value = raw.get(lang)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: missing translation for {lang!r}")
        elif one_line and (problem := one_line_problem(value)) is not None:
            problems.append(f"{where}.{lang}: must be one line of text: it holds {problem}")
        else:
            out[lang] = value
    for extra in set(raw) - set(languages):
        problems.append(f"{where}: language {extra!r} is not among the questionnaire's languages")
    return out


def _whole(value: Any) -> Any:
    """JSON's 1.0 is the integer 1 (as JSON Schema's "integer" says); anything else is left as it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64 and value[0].isalpha() and set(value) <= _ID_CHARS


def parse_questionnaire(data: Any) -> Questionnaire:
    """Validate a questionnaire definition and build it; ValidationFailed lists every problem."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ValidationFailed("questionnaire must be a JSON object", details=["definition: not an object"])
    known = {"id", "version", "languages", "title", "intro", "questions", "$schema", "description"}
    for extra in sorted(set(data) - known):
        problems.append(f"{extra}: unknown field")
    for note in ("$schema", "description"):
        if note in data and not isinstance(data[note], str):
            problems.append(f"{note}: must be a string")
    qid = data.get("id")
    if not _valid_id(qid):
        problems.append("id: must be lower-case letters, digits and underscores, starting with a letter")
    version = _whole(data.get("version"))
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append("version: must be a positive integer")
    languages_raw = data.get("languages")
    if (
        not isinstance(languages_raw, list)
        or not languages_raw
        or any(lang not in LANGUAGES for lang in languages_raw)
        or len(set(languages_raw)) != len(languages_raw)
    ):
        problems.append(f"languages: must be a non-empty list of distinct values from {list(LANGUAGES)}")
        languages: tuple[str, ...] = ()
    else:
        languages = tuple(languages_raw)
    title = _text_map(data.get("title"), "title", languages, problems)
    has_intro = "intro" in data
    intro = (
        _text_map(data["intro"], "intro", languages, problems, one_line=False)
        if has_intro
        else dict.fromkeys(languages, "")
    )
    questions: list[Question] = []
    seen: set[str] = set()
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        problems.append("questions: must be a non-empty list")
        raw_questions = []
    for index, raw in enumerate(raw_questions):
        question = _parse_question(raw, f"questions[{index}]", languages, seen, questions, problems)
        if question is not None:
            questions.append(question)
            seen.add(question.id)
    if problems:
        raise ValidationFailed("questionnaire definition is invalid", details=problems)
    assert isinstance(qid, str) and isinstance(version, int)
    return Questionnaire(qid, version, languages, title, intro, tuple(questions))


def _parse_question(
    raw: Any,
    where: str,
    languages: Sequence[str],
    seen: set[str],
    earlier: list[Question],
    problems: list[str],
) -> Question | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object")
        return None
    known = {
        "id",
        "type",
        "text",
        "required",
        "indicator",
        "statement",
        "options",
        "max_length",
        "show_if",
        "help",
        "per_event",
    }
    for extra in sorted(set(raw) - known):
        problems.append(f"{where}.{extra}: unknown field")
    before = len(problems)
    qid = raw.get("id")
    if not _valid_id(qid):
        problems.append(f"{where}.id: must be lower-case letters, digits and underscores, starting with a letter")
    elif qid in seen:
        problems.append(f"{where}.id: duplicate question id {qid!r}")
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        problems.append(f"{where}.type: must be one of {list(QUESTION_TYPES)}")
    text = _text_map(raw.get("text"), f"{where}.text", languages, problems)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        problems.append(f"{where}.required: must be true or false")
    per_event = raw.get("per_event", False)
    if not isinstance(per_event, bool):
        problems.append(f"{where}.per_event: must be true or false")
    indicator = raw.get("indicator")
    if indicator is not None and (not _valid_id(indicator) or qtype == "text"):
        problems.append(f"{where}.indicator: must be an identifier, on a closed question")
    statement = None
    if "statement" in raw:
        statement = _text_map(raw["statement"], f"{where}.statement", languages, problems)
    help_text = _text_map(raw["help"], f"{where}.help", languages, problems, one_line=False) if "help" in raw else None
    options: list[Option] = []
    if qtype in ("single_choice", "multiple_choice"):
        raw_options = raw.get("options")
        if not isinstance(raw_options, list) or len(raw_options) < 2:
            problems.append(f"{where}.options: a choice question needs at least two options")
            raw_options = []
        option_ids: set[str] = set()
        for oi, opt in enumerate(raw_options):
            if not isinstance(opt, dict) or not _valid_id(opt.get("id")) or opt.get("id") in option_ids:
                problems.append(f"{where}.options[{oi}].id: must be a distinct identifier")
                continue
            option_ids.add(opt["id"])
            for extra in sorted(set(opt) - {"id", "label"}):
                problems.append(f"{where}.options[{oi}].{extra}: unknown field")
            options.append(
                Option(opt["id"], _text_map(opt.get("label"), f"{where}.options[{oi}].label", languages, problems))
            )
    elif "options" in raw:
        problems.append(f"{where}.options: only choice questions take options")
    max_length = _whole(raw.get("max_length", DEFAULT_TEXT_LIMIT))
    if "max_length" in raw and qtype != "text":
        problems.append(f"{where}.max_length: only text questions take a length limit")
    if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= MAX_TEXT_LIMIT:
        problems.append(f"{where}.max_length: must be an integer from 1 to {MAX_TEXT_LIMIT}")
    show_if = None
    if "show_if" in raw:
        cond = raw["show_if"]
        if isinstance(cond, dict):
            for extra in sorted(set(cond) - {"question", "equals"}):
                problems.append(f"{where}.show_if.{extra}: unknown field")
        target = next((q for q in earlier if isinstance(cond, dict) and q.id == cond.get("question")), None)
        if target is None:
            problems.append(f"{where}.show_if: must name an earlier question")
        elif target.type == "text" or cond.get("equals") not in target.allowed_values():
            problems.append(f"{where}.show_if.equals: must be one of the earlier question's values")
        else:
            show_if = Condition(target.id, cond["equals"])
    if len(problems) != before:
        return None
    assert isinstance(qid, str) and isinstance(qtype, str)
    return Question(
        id=qid,
        type=qtype,
        text=text,
        required=required,
        indicator=indicator,
        statement=statement,
        options=tuple(options),
        max_length=max_length,
        show_if=show_if,
        help=help_text,
        per_event=per_event is True,
    )


PER_EVENT_SEPARATOR = "@"  # a per-event answer's key: ``<question>@<event_id>``


def for_events(questionnaire: Questionnaire, events: Sequence[tuple[str, str]]) -> Questionnaire:
    """The questionnaire as a series wave's invitee sees it: each per-event question asked once for each of their
    events (``events``: ID and title, in the series' order), labelled with the event's title; the others once.
    With no events (an event wave) it is the questionnaire itself."""
    if not events or not any(q.per_event for q in questionnaire.questions):
        return questionnaire
    questions: list[Question] = []
    for q in questionnaire.questions:
        if not q.per_event:
            questions.append(q)
            continue
        for event_id, title in events:
            questions.append(
                replace(
                    q,
                    id=f"{q.id}{PER_EVENT_SEPARATOR}{event_id}",
                    text={lang: f"{title}: {text}" for lang, text in q.text.items()},
                    per_event=False,
                    event_id=event_id,
                )
            )
    return replace(questionnaire, questions=tuple(questions))


def per_event_answers(question: Question, answers: Mapping[str, str | list[str]]) -> dict[str, str | list[str]]:
    """A per-event question's answers, by event ID."""
    prefix = f"{question.id}{PER_EVENT_SEPARATOR}"
    return {key[len(prefix) :]: value for key, value in answers.items() if key.startswith(prefix)}


# Answer validation ---------------------------------------------------------------------------------

RESERVED_FIELDS = frozenset({"_v", "_p", "_q", "lang", "csrf"})


@dataclass
class AnswerCheck:
    answers: dict[str, str | list[str]]
    errors: dict[str, str]
    unknown: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.unknown


def check_answers(questionnaire: Questionnaire, form: Mapping[str, Sequence[str]]) -> AnswerCheck:
    """Validate submitted form fields; errors map question id to an error code shown beside it.

    ``kept`` values (what the participant typed) are returned in ``answers`` even when invalid, so the
    form can be shown again with every value kept.
    """
    unknown = sorted(k for k in form if k not in RESERVED_FIELDS and questionnaire.question(k) is None)
    raw: dict[str, str | list[str]] = {}
    for q in questionnaire.questions:
        values = [v for v in form.get(q.id, ()) if v != ""]
        if q.type == "multiple_choice":
            raw[q.id] = list(dict.fromkeys(values))
        elif q.type == "text":
            text = (form.get(q.id) or [""])[-1].replace("\r\n", "\n").strip()
            if text:
                raw[q.id] = text
        elif values:
            # Two values for a single-answer question is tampering; keep both so it fails validation.
            raw[q.id] = values[0] if len(values) == 1 else values
    answers: dict[str, str | list[str]] = {}
    errors: dict[str, str] = {}
    for q in questionnaire.questions:
        value = raw.get(q.id)
        if not q.is_visible(answers):
            continue
        if value is None or value == []:
            if q.required:
                errors[q.id] = "required"
            continue
        if q.type == "text":
            assert isinstance(value, str)
            if len(value) > q.max_length:
                errors[q.id] = "too_long"
            elif "\x00" in value:
                errors[q.id] = "invalid"
        elif q.type == "multiple_choice":
            assert isinstance(value, list)
            if any(v not in q.allowed_values() for v in value):
                errors[q.id] = "invalid"
        elif isinstance(value, list) or value not in q.allowed_values():
            errors[q.id] = "invalid"
        answers[q.id] = value
    return AnswerCheck(answers=answers if not errors else {**raw, **answers}, errors=errors, unknown=unknown)


def aggregate_deltas(questionnaire: Questionnaire, answers: Mapping[str, str | list[str]]) -> dict[str, int]:
    """The counter increments one response contributes: ``n:<q>`` answered, ``a:<q>:<value>`` per value. A per-event
    answer counts under ``<q>@<event>``; ``cells.spread`` counts it towards its question, and its event's cell."""
    deltas: dict[str, int] = {}
    for q in questionnaire.questions:
        # In an event wave a per-event question is asked once, under its own ID.
        given: dict[str, str | list[str] | None] = {q.id: answers.get(q.id)}
        if q.per_event:
            given.update({f"{q.id}{PER_EVENT_SEPARATOR}{e}": v for e, v in per_event_answers(q, answers).items()})
        for key, value in given.items():
            if value is None or value == [] or value == "":
                continue
            deltas[f"n:{key}"] = 1
            if not q.closed:
                continue
            for v in value if isinstance(value, list) else [value]:
                deltas[f"a:{key}:{v}"] = 1
    return deltas
