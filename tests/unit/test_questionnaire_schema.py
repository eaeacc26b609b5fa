"""The JSON Schema of questionnaire definitions (chalicelib/questionnaires/schema.json) against the parser.

The runtime never loads jsonschema (a dev dependency): these properties are the guarantee that the two agree.
- The parser never accepts what the schema rejects (it is at least as strict), and it never crashes.
- It accepts exactly what the schema allows, once the cross-field rules that the schema's description lists
  (and JSON Schema cannot express) hold; ``cross_field_ok`` below restates those rules independently.
Hypothesis builds valid definitions from strategies, then mutates them at random paths.
"""

from __future__ import annotations

import copy
import json
import operator
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.questionnaires import Questionnaire, parse_questionnaire

QDIR = Path(__file__).resolve().parents[2] / "chalicelib" / "questionnaires"
SCHEMA = json.loads((QDIR / "schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA)
LANGS = ("en", "fr", "es")
TYPES = ("likert", "yes_no", "single_choice", "multiple_choice", "rating", "nps", "text")
CHOICE = ("single_choice", "multiple_choice")
SCALE_VALUES = {
    "likert": [str(i) for i in range(1, 6)],
    "rating": [str(i) for i in range(1, 6)],
    "nps": [str(i) for i in range(11)],
    "yes_no": ["yes", "no"],
}


def parser_accepts(definition: Any) -> bool:
    """True or False; any other exception (a crash) fails the test."""
    try:
        result = parse_questionnaire(definition)
    except ValidationFailed as failed:
        assert isinstance(failed.details, list) and failed.details, "a rejection must name its problems"
        return False
    assert isinstance(result, Questionnaire)
    return True


def schema_accepts(definition: Any) -> bool:
    return bool(VALIDATOR.is_valid(definition))


def _ids(value: Any) -> list[str]:
    """Every identifier-valued string of a schema-valid definition."""
    found = [value["id"]]
    for q in value["questions"]:
        found += [q["id"], *(o["id"] for o in q.get("options", []))]
        if isinstance(q.get("indicator"), str):
            found.append(q["indicator"])
        if "show_if" in q:
            found.append(q["show_if"]["question"])
    return found


def _is_one_line(text: str) -> bool:
    """Rule (6), restated: no Cc, Zl, Zp or Cs, and no Cf but the zero-width non-joiner and joiner."""
    return all(ch in "\u200c\u200d" or unicodedata.category(ch) not in ("Cc", "Zl", "Zp", "Cf", "Cs") for ch in text)


def cross_field_ok(d: dict[str, Any]) -> bool:
    """The rules listed in the schema's description, for a definition the schema accepts."""
    langs = set(d["languages"])
    maps = [d["title"], *([d["intro"]] if "intro" in d else [])]
    seen: dict[str, dict[str, Any]] = {}
    for q in d["questions"]:
        maps += [q["text"], *(q[k] for k in ("statement", "help") if k in q)]
        maps += [o["label"] for o in q.get("options", [])]
        option_ids = [o["id"] for o in q.get("options", [])]
        if q["id"] in seen or len(set(option_ids)) != len(option_ids):
            return False
        if "show_if" in q:
            target = seen.get(q["show_if"]["question"])
            if target is None or target["type"] == "text":
                return False
            values = SCALE_VALUES.get(target["type"]) or [o["id"] for o in target["options"]]
            if q["show_if"]["equals"] not in values:
                return False
        seen[q["id"]] = q
    if any(set(m) != langs for m in maps):
        return False
    one_line = [d["title"]]
    for q in d["questions"]:
        one_line += [
            q["text"],
            *([q["statement"]] if "statement" in q else []),
            *(o["label"] for o in q.get("options", [])),
        ]
    if not all(_is_one_line(text) for m in one_line for text in m.values()):
        return False
    # JSON Schema patterns are ECMA-262, where "$" matches only at the very end; jsonschema runs them with
    # Python's re, where "$" also matches before a final newline. The parser refuses such ids, as ECMA would.
    return not any(i.endswith("\n") for i in _ids(d))


# Strategies -----------------------------------------------------------------------------------------

LOWER = "abcdefghijklmnopqrstuvwxyz"
identifiers = st.builds(operator.add, st.sampled_from(LOWER), st.text(LOWER + "0123456789_", max_size=8))
words = st.sampled_from(("Yes", "Très utile", "¿Fue útil?", "x", "Mi\u200cxed")) | st.text(
    min_size=1, max_size=8
).filter(lambda s: s.strip() != "" and _is_one_line(s))


def texts(languages: list[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(dict.fromkeys(languages, words))


@st.composite
def valid_definitions(draw: st.DrawFn) -> dict[str, Any]:
    languages = draw(st.lists(st.sampled_from(LANGS), min_size=1, max_size=3, unique=True))
    question_ids = draw(st.lists(identifiers, min_size=1, max_size=6, unique=True))
    questions: list[dict[str, Any]] = []
    for qid in question_ids:
        qtype = draw(st.sampled_from(TYPES))
        q: dict[str, Any] = {"id": qid, "type": qtype, "text": draw(texts(languages))}
        if draw(st.booleans()):
            q["required"] = draw(st.booleans())
        if qtype != "text" and draw(st.booleans()):
            q["indicator"] = draw(identifiers)
        elif draw(st.integers(0, 9)) == 0:
            q["indicator"] = None
        for key in ("statement", "help"):
            if draw(st.booleans()):
                q[key] = draw(texts(languages))
        if qtype in CHOICE:
            option_ids = draw(st.lists(identifiers, min_size=2, max_size=4, unique=True))
            q["options"] = [{"id": oid, "label": draw(texts(languages))} for oid in option_ids]
        if qtype == "text" and draw(st.booleans()):
            q["max_length"] = draw(st.integers(1, 10000))
        targets = [p for p in questions if p["type"] != "text"]
        if targets and draw(st.booleans()):
            target = draw(st.sampled_from(targets))
            values = SCALE_VALUES.get(target["type"]) or [o["id"] for o in target["options"]]
            q["show_if"] = {"question": target["id"], "equals": draw(st.sampled_from(values))}
        questions.append(q)
    d: dict[str, Any] = {
        "id": draw(identifiers),
        "version": draw(st.integers(1, 10**12)),
        "languages": languages,
        "title": draw(texts(languages)),
        "questions": questions,
    }
    if draw(st.booleans()):
        d["intro"] = draw(texts(languages))
    if draw(st.integers(0, 4)) == 0:
        d["$schema"] = "./schema.json"
        d["description"] = draw(words)
    return d


KEYS = (
    "id", "version", "languages", "title", "intro", "questions", "$schema", "description", "type", "text",
    "required", "indicator", "statement", "help", "options", "max_length", "show_if", "label", "question",
    "equals", "en", "fr", "es", "de", "extra",
)  # fmt: skip
INTERESTING = (
    "", " ", "\t", "a\n", "q1", "Bad Id", "1abc", "a" * 64, "a" * 65, "en", "fr", "es", "de", "yes", "no", "1",
    "10", "likert", "yes_no", "single_choice", "multiple_choice", "rating", "nps", "text", "slider",
    0, 1, 2, -1, 5, 10000, 10001, 1.0, 2.5, True, False, None, [], {}, ["en"], ["en", "en"], {"en": "x"},
)  # fmt: skip
leaves = st.one_of(
    st.sampled_from(INTERESTING),
    st.none(),
    st.booleans(),
    st.integers(-5, 10005),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths(v, (*prefix, i))
    return found


def at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def mutated_definitions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid definition with one to three random edits: replace or delete any value, add a key to any
    object, repeat a list item, or change a question's type."""
    d = copy.deepcopy(draw(valid_definitions()))
    for _ in range(draw(st.integers(1, 3))):
        everywhere = paths(d)
        op = draw(st.sampled_from(("replace", "delete", "add_key", "duplicate", "swap_type")))
        if op == "add_key":
            objects = [p for p in everywhere if isinstance(at(d, p), dict)]
            # Favour objects other than text maps (there are many of those), so options and show_if get edits too.
            structural = [p for p in objects if not at(d, p) or not set(at(d, p)) <= set(LANGS)]
            node = at(d, draw(st.sampled_from(structural if structural and draw(st.booleans()) else objects)))
            node[draw(st.sampled_from(KEYS))] = draw(json_values)
            continue
        if op == "swap_type":
            listed = d.get("questions")
            questions = [q for q in listed if isinstance(q, dict)] if isinstance(listed, list) else []
            if questions:
                draw(st.sampled_from(questions))["type"] = draw(st.sampled_from(TYPES))
            continue
        candidates = [p for p in everywhere if p and (op != "duplicate" or isinstance(at(d, p[:-1]), list))]
        if not candidates:
            continue
        path = draw(st.sampled_from(candidates))
        parent = at(d, path[:-1])
        if op == "replace":
            parent[path[-1]] = draw(json_values)
        elif op == "delete":
            del parent[path[-1]]
        else:
            parent.append(copy.deepcopy(parent[path[-1]]))
    return d


# Properties -----------------------------------------------------------------------------------------


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("name", ["satisfaction", "impact"])
def test_the_builtin_questionnaires_validate_against_the_schema(name: str) -> None:
    definition = json.loads((QDIR / f"{name}.json").read_text(encoding="utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(definition)]
    assert errors == []
    assert parser_accepts(definition)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_definitions())
def test_definitions_built_from_the_strategies_pass_both(definition: dict[str, Any]) -> None:
    assert schema_accepts(definition), [e.message for e in VALIDATOR.iter_errors(definition)]
    assert cross_field_ok(definition)
    assert parser_accepts(definition)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_definitions())
@example({"id": "x", "version": 1, "languages": ["en"], "title": {"en": "T"}, "questions": [
    {"id": "a", "type": "yes_no", "text": {"en": "A"}},
    {"id": "b", "type": "text", "text": {"en": "B"}, "show_if": {"question": "a", "equals": "yes", "x": 1}},
]})  # fmt: skip
@example({"id": "x", "version": 1, "languages": ["en"], "title": {"en": "T"}, "questions": [
    {"id": "a", "type": "single_choice", "text": {"en": "A"},
     "options": [{"id": "o1", "label": {"en": "1"}}, {"id": "o2", "label": {"en": "2"}, "lable": {"en": "2"}}]},
]})  # fmt: skip
@example({"id": "a", "version": 1.0, "languages": ["en"], "title": {"en": "Yes"}, "questions": [
    {"id": "a", "type": "likert", "text": {"en": "Yes"}, "indicator": None},
]})  # fmt: skip  # JSON's 1.0 is an integer for JSON Schema, and so for the parser
@example({"id": "x", "version": 1, "languages": ["en"], "title": {"en": "T"}, "description": 5, "questions": [
    {"id": "a", "type": "yes_no", "text": {"en": "A"}},
]})  # fmt: skip
def test_the_parser_accepts_exactly_what_the_schema_and_the_cross_field_rules_allow(definition: Any) -> None:
    parsed = parser_accepts(definition)
    structural = schema_accepts(definition)
    if parsed:
        assert structural, [e.message for e in VALIDATOR.iter_errors(definition)]
    if not structural:
        assert not parsed
    assert parsed == (structural and cross_field_ok(definition))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_parser_never_crashes_and_never_accepts_what_the_schema_rejects(value: Any) -> None:
    parsed = parser_accepts(value)
    assert not parsed or schema_accepts(value)


CASES = {
    "options on a likert question": {"type": "likert", "options": [{"id": "a", "label": {"en": "A"}}] * 2},
    "a choice question without options": {"type": "single_choice"},
    "one option only": {"type": "multiple_choice", "options": [{"id": "a", "label": {"en": "A"}}]},
    "an indicator on a text question": {"type": "text", "indicator": "feedback"},
    "a length limit on a closed question": {"type": "yes_no", "max_length": 10},
    "a length limit of 10001": {"type": "text", "max_length": 10001},
    "a length limit of true": {"type": "text", "max_length": True},
    "required as a string": {"type": "yes_no", "required": "yes"},
    "an unknown type": {"type": "slider"},
    "a blank translation": {"type": "yes_no", "text": {"en": "  "}},
    "an unknown language": {"type": "yes_no", "text": {"en": "A", "de": "A"}},
    "an unknown question field": {"type": "yes_no", "hint": {"en": "A"}},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_structural_errors_are_refused_by_both(name: str) -> None:
    question = {"id": "a", "text": {"en": "A"}, **CASES[name]}
    definition = {"id": "x", "version": 1, "languages": ["en"], "title": {"en": "T"}, "questions": [question]}
    assert not schema_accepts(definition)
    assert not parser_accepts(definition)


@pytest.mark.parametrize(
    "change",
    [
        {"version": True},
        {"version": 0},
        {"version": 1.5},
        {"id": "Bad"},
        {"id": "a" * 65},
        {"languages": []},
        {"languages": ["en", "en"]},
        {"languages": ["de"]},
        {"intro": None},
        {"questions": []},
        {"colour": "blue"},
    ],
)
def test_top_level_errors_are_refused_by_both(change: dict[str, Any]) -> None:
    definition = {"id": "x", "version": 1, "languages": ["en"], "title": {"en": "T"}}
    definition["questions"] = [{"id": "a", "type": "yes_no", "text": {"en": "A"}}]
    definition.update(change)
    assert not schema_accepts(definition)
    assert not parser_accepts(definition)


def test_the_description_lists_the_rules_left_to_the_parser() -> None:
    description = SCHEMA["description"]
    for rule in ("exactly the questionnaire's languages", "question ids are unique", "option ids are unique"):
        assert rule in description
    assert "show_if names an earlier question" in description
