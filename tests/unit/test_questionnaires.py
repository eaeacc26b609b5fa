"""Questionnaire definitions and participants' answers: parsing, validation and the counters they feed."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.questionnaires import (
    Questionnaire,
    aggregate_deltas,
    check_answers,
    parse_questionnaire,
)

QDIR = Path(__file__).resolve().parents[2] / "chalicelib" / "questionnaires"
LANGS = ("en", "fr", "es")


def load(name: str) -> dict:
    return json.loads((QDIR / f"{name}.json").read_text(encoding="utf-8"))


SATISFACTION = parse_questionnaire(load("satisfaction"))
IMPACT = parse_questionnaire(load("impact"))


def t(label: str) -> dict[str, str]:
    return {lang: f"{label} ({lang})" for lang in LANGS}


def definition(*questions: dict) -> dict:
    return {"id": "custom", "version": 1, "languages": list(LANGS), "title": t("Title"), "questions": list(questions)}


def likert(qid: str, **extra) -> dict:
    return {"id": qid, "type": "likert", "text": t(qid), **extra}


def problems_of(data: dict) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_questionnaire(data)
    details = caught.value.details
    assert isinstance(details, list) and details
    return details


def mentions(details: list[str], *fragments: str) -> bool:
    return any(all(f in d for f in fragments) for d in details)


# Built-ins ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["satisfaction", "impact"])
def test_given_a_builtin_definition_when_parsed_then_it_builds_a_questionnaire_with_every_language(name):
    q = parse_questionnaire(load(name))
    assert isinstance(q, Questionnaire)
    assert q.id == name and q.version == 1
    assert set(q.languages) == set(LANGS)
    for lang in LANGS:
        assert q.title[lang].strip()
        for question in q.questions:
            assert question.text[lang].strip(), (question.id, lang)
            if question.statement is not None:
                assert question.statement[lang].strip(), (question.id, lang)
            for option in question.options:
                assert option.label[lang].strip(), (question.id, option.id, lang)


@pytest.mark.parametrize(
    "name, indicators",
    [
        ("satisfaction", {"mutual_learning", "understanding", "cooperation_measures"}),
        ("impact", {"content_relevant", "applied_in_work", "shared_with_colleagues"}),
    ],
)
def test_given_a_builtin_when_reading_its_indicators_then_the_report_indicators_are_there_with_statements(
    name, indicators
):
    q = parse_questionnaire(load(name))
    by_indicator = {x.indicator: x for x in q.questions if x.indicator}
    assert indicators <= set(by_indicator)
    for indicator in indicators:
        question = by_indicator[indicator]
        # The report sentences need an agreement figure and a statement in every language.
        assert question.type in ("likert", "yes_no")
        assert question.statement is not None and set(question.statement) == set(LANGS)


def test_given_the_impact_questionnaire_then_how_it_was_applied_is_only_asked_after_a_yes():
    applied_how = IMPACT.question("applied_how")
    assert applied_how is not None and applied_how.show_if is not None
    assert (applied_how.show_if.question, applied_how.show_if.equals) == ("applied_in_work", "yes")


# Rejected definitions -----------------------------------------------------------------------------


def test_given_a_question_without_spanish_when_parsed_then_the_missing_translation_is_named():
    q = likert("q1")
    del q["text"]["es"]
    details = problems_of(definition(q))
    assert mentions(details, "questions[0].text", "missing translation", "'es'")


def test_given_an_unknown_question_type_when_parsed_then_the_type_is_named():
    details = problems_of(definition(likert("q1"), {"id": "q2", "type": "slider", "text": t("q2")}))
    assert mentions(details, "questions[1].type")


def test_given_two_questions_with_one_id_when_parsed_then_the_duplicate_is_named():
    details = problems_of(definition(likert("q1"), likert("q1")))
    assert mentions(details, "questions[1].id", "duplicate", "q1")


def test_given_a_choice_with_one_option_when_parsed_then_it_asks_for_two_options():
    choice = {"id": "pick", "type": "single_choice", "text": t("pick"), "options": [{"id": "a", "label": t("a")}]}
    details = problems_of(definition(choice))
    assert mentions(details, "questions[0].options", "two options")


def test_given_show_if_on_a_later_question_when_parsed_then_it_must_name_an_earlier_one():
    first = likert("q1", show_if={"question": "q2", "equals": "5"})
    details = problems_of(definition(first, likert("q2")))
    assert mentions(details, "questions[0].show_if", "earlier question")


def test_given_show_if_on_a_value_the_earlier_question_cannot_take_when_parsed_then_it_is_rejected():
    details = problems_of(definition(likert("q1"), likert("q2", show_if={"question": "q1", "equals": "7"})))
    assert mentions(details, "questions[1].show_if.equals")


def test_given_an_indicator_on_a_text_question_when_parsed_then_the_indicator_is_rejected():
    text = {"id": "comments", "type": "text", "text": t("comments"), "indicator": "feelings"}
    details = problems_of(definition(likert("q1"), text))
    assert mentions(details, "questions[1].indicator")


@pytest.mark.parametrize(
    "where, mutate, fragment",
    [
        ("top level", lambda d: d.update(colour="blue"), "colour: unknown field"),
        ("question", lambda d: d["questions"][0].update(colour="blue"), "questions[0].colour: unknown field"),
    ],
)
def test_given_an_unknown_field_when_parsed_then_it_is_named(where, mutate, fragment):
    data = definition(likert("q1"))
    mutate(data)
    details = problems_of(data)
    assert mentions(details, fragment), (where, details)


def test_given_many_problems_at_once_when_parsed_then_every_one_is_listed():
    missing = likert("q1")
    del missing["text"]["fr"]
    data = definition(
        missing,
        {"id": "q2", "type": "slider", "text": t("q2")},
        likert("q3"),
        likert("q3"),
        {"id": "pick", "type": "multiple_choice", "text": t("pick"), "options": [{"id": "a", "label": t("a")}]},
        likert("q5", show_if={"question": "q6", "equals": "1"}),
        likert("q6"),
        {"id": "comments", "type": "text", "text": t("c"), "indicator": "mood"},
    )
    data["colour"] = "blue"
    details = problems_of(data)
    assert mentions(details, "questions[0].text", "missing translation", "'fr'")
    assert mentions(details, "questions[1].type")
    assert mentions(details, "questions[3].id", "duplicate")
    assert mentions(details, "questions[4].options")
    assert mentions(details, "questions[5].show_if")
    assert mentions(details, "questions[7].indicator")
    assert mentions(details, "colour: unknown field")


def test_given_a_valid_custom_definition_when_parsed_then_it_is_accepted():
    data = definition(
        {"id": "came", "type": "yes_no", "text": t("came"), "required": True},
        likert("liked", show_if={"question": "came", "equals": "yes"}, indicator="liked"),
        {"id": "notes", "type": "text", "text": t("notes"), "max_length": 50},
    )
    q = parse_questionnaire(data)
    assert [x.id for x in q.questions] == ["came", "liked", "notes"]
    assert q.question("notes").max_length == 50
    assert q.key == "custom@1"


# Answer validation --------------------------------------------------------------------------------

VALID_SATISFACTION = {"overall": ["4"], "mutual_learning": ["5"], "understanding": ["4"], "cooperation_measures": ["3"]}
VALID_IMPACT = {
    "content_relevant": ["4"],
    "applied_in_work": ["yes"],
    "applied_how": ["research", "training"],
    "informed_policy_or_research": ["3"],
    "best_practices": ["2"],
    "shared_with_colleagues": ["no"],
    "kept_contacts": ["yes"],
    "recommend": ["9"],
    "example": ["We wrote a policy note."],
}


@pytest.mark.parametrize("value", ["0", "6", "-1", "3.5", "abc", "3 ", " 3", "03", "\uff13", "five"])
def test_given_a_likert_answer_outside_1_to_5_when_checked_then_it_is_invalid_and_kept(value):
    result = check_answers(SATISFACTION, {**VALID_SATISFACTION, "mutual_learning": [value]})
    assert not result.ok
    assert result.errors == {"mutual_learning": "invalid"}
    # The form is shown again with what the participant typed.
    assert result.answers["mutual_learning"] == value
    assert result.answers["overall"] == "4"


def test_given_an_empty_required_likert_answer_when_checked_then_it_is_required():
    result = check_answers(SATISFACTION, {**VALID_SATISFACTION, "mutual_learning": [""]})
    assert result.errors == {"mutual_learning": "required"}


def test_given_an_empty_optional_answer_when_checked_then_it_is_simply_left_out():
    result = check_answers(SATISFACTION, {**VALID_SATISFACTION, "content_relevant": [""], "materials": [""]})
    assert result.ok
    assert "content_relevant" not in result.answers and "materials" not in result.answers


def test_given_two_values_for_one_likert_question_when_checked_then_it_is_invalid():
    result = check_answers(SATISFACTION, {**VALID_SATISFACTION, "mutual_learning": ["4", "5"]})
    assert result.errors == {"mutual_learning": "invalid"}


def test_given_two_values_for_a_yes_no_question_when_checked_then_it_is_invalid():
    result = check_answers(IMPACT, {**VALID_IMPACT, "kept_contacts": ["yes", "no"]})
    assert result.errors == {"kept_contacts": "invalid"}


@pytest.mark.parametrize("value", ["1", "2", "3", "4", "5"])
def test_given_each_likert_value_when_checked_then_it_is_accepted(value):
    result = check_answers(SATISFACTION, {**VALID_SATISFACTION, "mutual_learning": [value]})
    assert result.ok, result.errors
    assert result.answers["mutual_learning"] == value


@pytest.mark.parametrize("value, ok", [("0", True), ("10", True), ("11", False), ("-1", False), ("1.0", False)])
def test_given_an_nps_answer_when_checked_then_only_0_to_10_is_accepted(value, ok):
    result = check_answers(IMPACT, {**VALID_IMPACT, "recommend": [value]})
    assert result.ok is ok
    if not ok:
        assert result.errors == {"recommend": "invalid"}


@pytest.mark.parametrize("value, ok", [("yes", True), ("no", True), ("Yes", False), ("true", False), ("1", False)])
def test_given_a_yes_no_answer_when_checked_then_only_yes_or_no_is_accepted(value, ok):
    result = check_answers(IMPACT, {**VALID_IMPACT, "kept_contacts": [value]})
    assert result.ok is ok


def test_given_a_full_valid_impact_form_when_checked_then_every_answer_is_kept():
    result = check_answers(IMPACT, VALID_IMPACT)
    assert result.ok, (result.errors, result.unknown)
    assert result.answers["applied_how"] == ["research", "training"]
    assert result.answers["recommend"] == "9"
    assert result.answers["example"] == "We wrote a policy note."


def test_given_a_repeated_multiple_choice_field_when_checked_then_the_answer_is_the_list_without_repeats():
    form = {**VALID_IMPACT, "applied_how": ["research", "best_practices", "research"]}
    result = check_answers(IMPACT, form)
    assert result.ok
    assert result.answers["applied_how"] == ["research", "best_practices"]


def test_given_an_unknown_option_in_a_multiple_choice_when_checked_then_it_is_invalid():
    result = check_answers(IMPACT, {**VALID_IMPACT, "applied_how": ["research", "bribery"]})
    assert result.errors == {"applied_how": "invalid"}
    assert result.answers["applied_how"] == ["research", "bribery"]


def test_given_fields_that_are_not_questions_when_checked_then_they_are_listed_as_unknown():
    form = {**VALID_SATISFACTION, "zzz": ["1"], "admin": ["yes"], "lang": ["fr"], "csrf": ["x"], "_v": ["1"]}
    result = check_answers(SATISFACTION, form)
    assert result.unknown == ["admin", "zzz"]
    assert not result.ok
    assert result.errors == {}


def test_given_a_no_to_the_controlling_question_when_checked_then_the_follow_up_is_hidden_and_dropped():
    form = {**VALID_IMPACT, "applied_in_work": ["no"], "applied_how": ["research"]}
    result = check_answers(IMPACT, form)
    assert result.ok
    assert "applied_how" not in result.answers


def test_given_a_required_question_hidden_by_show_if_when_left_empty_then_it_is_not_required():
    q = parse_questionnaire(
        definition(
            {"id": "came", "type": "yes_no", "text": t("came"), "required": True},
            likert("liked", required=True, show_if={"question": "came", "equals": "yes"}),
        )
    )
    assert check_answers(q, {"came": ["no"]}).ok
    shown = check_answers(q, {"came": ["yes"]})
    assert shown.errors == {"liked": "required"}
    assert check_answers(q, {"came": ["yes"], "liked": ["2"]}).ok


def test_given_a_required_question_shown_by_a_multiple_choice_option_then_it_is_required_only_when_ticked():
    q = parse_questionnaire(
        definition(
            {
                "id": "tools",
                "type": "multiple_choice",
                "text": t("tools"),
                "options": [{"id": "a", "label": t("a")}, {"id": "b", "label": t("b")}],
            },
            likert("b_useful", required=True, show_if={"question": "tools", "equals": "b"}),
        )
    )
    assert check_answers(q, {"tools": ["a"]}).ok
    assert check_answers(q, {"tools": ["a", "b"]}).errors == {"b_useful": "required"}


def test_given_a_text_over_its_max_length_when_checked_then_it_is_too_long_and_kept():
    q = parse_questionnaire(definition({"id": "notes", "type": "text", "text": t("notes"), "max_length": 10}))
    assert check_answers(q, {"notes": ["x" * 10]}).ok
    result = check_answers(q, {"notes": ["x" * 11]})
    assert result.errors == {"notes": "too_long"}
    assert result.answers["notes"] == "x" * 11


def test_given_a_text_with_windows_line_breaks_when_checked_then_they_count_as_one_character():
    q = parse_questionnaire(definition({"id": "notes", "type": "text", "text": t("notes"), "max_length": 3}))
    result = check_answers(q, {"notes": ["a\r\nb"]})
    assert result.ok
    assert result.answers["notes"] == "a\nb"


def test_given_the_builtin_comment_box_when_2001_characters_are_sent_then_it_is_too_long():
    result = check_answers(SATISFACTION, {**VALID_SATISFACTION, "comments": ["é" * 2001]})
    assert result.errors == {"comments": "too_long"}


def test_given_several_errors_when_checked_then_every_typed_value_comes_back():
    form = {**VALID_SATISFACTION, "overall": ["9"], "understanding": [""], "comments": ["  Great  "]}
    result = check_answers(SATISFACTION, form)
    assert result.errors == {"overall": "invalid", "understanding": "required"}
    assert result.answers["overall"] == "9"
    assert result.answers["mutual_learning"] == "5"
    assert result.answers["comments"] == "Great"


# Properties ---------------------------------------------------------------------------------------

SAT_IDS = [q.id for q in SATISFACTION.questions]
IMPACT_IDS = [q.id for q in IMPACT.questions]
INTERESTING_VALUES = ["1", "2", "3", "4", "5", "0", "6", "10", "yes", "no", "research", "other", "", " ", "\x00"]
form_values = st.lists(st.sampled_from(INTERESTING_VALUES) | st.text(max_size=30), max_size=3)


@st.composite
def forms(draw, ids):
    keys = draw(st.lists(st.sampled_from(ids) | st.text(max_size=8), max_size=12, unique=True))
    return {key: draw(form_values) for key in keys}


def assert_answers_are_allowed(questionnaire: Questionnaire, answers: dict) -> None:
    for qid, value in answers.items():
        question = questionnaire.question(qid)
        assert question is not None
        if question.closed:
            values = value if isinstance(value, list) else [value]
            assert values, qid
            assert all(v in question.allowed_values() for v in values), (qid, value)
            if question.type != "multiple_choice":
                assert isinstance(value, str)
        else:
            assert isinstance(value, str) and 0 < len(value) <= question.max_length


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_given_any_form_when_checked_then_it_never_raises_and_ok_answers_are_all_allowed(data):
    questionnaire = data.draw(st.sampled_from([SATISFACTION, IMPACT]))
    ids = SAT_IDS if questionnaire is SATISFACTION else IMPACT_IDS
    form = data.draw(forms(ids))
    result = check_answers(questionnaire, form)
    assert set(result.errors.values()) <= {"required", "invalid", "too_long"}
    if result.ok:
        assert_answers_are_allowed(questionnaire, result.answers)
        for q in questionnaire.questions:
            if q.required and q.is_visible(result.answers):
                assert q.id in result.answers


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-5, 20000)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["likert", "text", "yes_no", "single_choice", "multiple_choice", "en", "fr", "es", "overall"])
    | st.text(max_size=8)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
QUESTION_KEYS = [
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
    "bogus",
]
TOP_KEYS = ["id", "version", "languages", "title", "intro", "questions", "description", "bogus"]


@st.composite
def mutated_satisfaction(draw):
    data = copy.deepcopy(load("satisfaction"))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["top", "question", "text_map", "show_if", "options", "optional"]))
        if where == "optional":
            # A harmless change, so that some mangled definitions are still valid.
            questions = data.get("questions")
            holders = [q for q in questions if isinstance(q, dict)] if isinstance(questions, list) else []
            if holders:
                draw(st.sampled_from(holders)).pop(draw(st.sampled_from(["required", "indicator", "statement"])), None)
            data.pop("intro", None)
            continue
        if where == "top":
            target, key = data, draw(st.sampled_from(TOP_KEYS))
        elif where == "text_map":
            questions = data.get("questions")
            holders = [data] + ([q for q in questions if isinstance(q, dict)] if isinstance(questions, list) else [])
            holder = draw(st.sampled_from(holders))
            field = "title" if holder is data else "text"
            if not isinstance(holder.get(field), dict):
                holder[field] = {}
            target, key = holder[field], draw(st.sampled_from(["en", "fr", "es", "de"]))
        else:
            questions = data.get("questions")
            if not isinstance(questions, list) or not questions:
                target, key = data, "questions"
            else:
                index = draw(st.integers(0, len(questions) - 1))
                if not isinstance(questions[index], dict):
                    target, key = data, "questions"
                elif where == "show_if":
                    target, key = questions[index], "show_if"
                    if draw(st.booleans()):
                        earlier = [q.get("id") for q in questions if isinstance(q, dict)]
                        questions[index]["show_if"] = {
                            "question": draw(st.sampled_from([*earlier, "nope"])),
                            "equals": draw(st.sampled_from(["1", "5", "yes", "a"])),
                        }
                        continue
                elif where == "options":
                    questions[index]["type"] = draw(st.sampled_from(["single_choice", "multiple_choice"]))
                    target, key = questions[index], "options"
                    if draw(st.booleans()):
                        questions[index]["options"] = draw(
                            st.lists(
                                st.fixed_dictionaries(
                                    {
                                        "id": st.sampled_from(["a", "b", "A", ""]) | json_value,
                                        "label": st.just(t("x")) | json_value,
                                    }
                                ),
                                max_size=3,
                            )
                        )
                        continue
                else:
                    target, key = questions[index], draw(st.sampled_from(QUESTION_KEYS))
        if draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = draw(json_value)
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_satisfaction())
def test_given_a_mangled_definition_when_parsed_then_it_is_a_questionnaire_or_validation_failed(data):
    try:
        result = parse_questionnaire(data)
    except ValidationFailed as exc:
        assert isinstance(exc.details, list) and exc.details
        assert all(isinstance(d, str) for d in exc.details)
    else:
        assert isinstance(result, Questionnaire)


@settings(max_examples=50, deadline=None)
@given(value=json_value)
def test_given_any_json_value_as_definition_when_parsed_then_only_validation_failed_is_raised(value):
    with pytest.raises(ValidationFailed):
        parse_questionnaire(value)


# Counter increments -------------------------------------------------------------------------------


def test_given_a_full_impact_response_when_aggregated_then_each_answer_adds_n_and_a_value_counter():
    answers = check_answers(IMPACT, VALID_IMPACT).answers
    deltas = aggregate_deltas(IMPACT, answers)
    assert deltas["n:content_relevant"] == 1 and deltas["a:content_relevant:4"] == 1
    assert deltas["n:applied_in_work"] == 1 and deltas["a:applied_in_work:yes"] == 1
    assert deltas["n:applied_how"] == 1
    assert deltas["a:applied_how:research"] == 1 and deltas["a:applied_how:training"] == 1
    assert deltas["n:recommend"] == 1 and deltas["a:recommend:9"] == 1
    # Free text is counted as answered; its words never reach a counter key.
    assert deltas["n:example"] == 1
    assert not any(key.startswith("a:example") for key in deltas)
    assert set(deltas.values()) == {1}


def test_given_unanswered_questions_when_aggregated_then_they_get_no_counter_at_all():
    answers = check_answers(SATISFACTION, VALID_SATISFACTION).answers
    deltas = aggregate_deltas(SATISFACTION, answers)
    assert deltas == {
        "n:overall": 1,
        "a:overall:4": 1,
        "n:mutual_learning": 1,
        "a:mutual_learning:5": 1,
        "n:understanding": 1,
        "a:understanding:4": 1,
        "n:cooperation_measures": 1,
        "a:cooperation_measures:3": 1,
    }


def test_given_empty_values_when_aggregated_then_they_count_as_unanswered():
    deltas = aggregate_deltas(IMPACT, {"applied_how": [], "example": "", "kept_contacts": "no"})
    assert deltas == {"n:kept_contacts": 1, "a:kept_contacts:no": 1}


def test_given_a_per_event_question_when_expanded_for_two_events_then_it_is_asked_once_per_event_and_counted_apart():
    from chalicelib.domain.cells import spread
    from chalicelib.domain.questionnaires import for_events

    assert IMPACT.question("content_relevant").per_event
    assert for_events(IMPACT, []) is IMPACT
    asked = for_events(IMPACT, [("ev_a", "Workshop A"), ("ev_b", "Workshop B")])
    ids = [q.id for q in asked.questions]
    assert "content_relevant" not in ids and ids[:2] == ["content_relevant@ev_a", "content_relevant@ev_b"]
    assert asked.question("content_relevant@ev_b").text["fr"].startswith("Workshop B: ")
    form = {k: v for k, v in VALID_IMPACT.items() if k != "content_relevant"}
    assert not check_answers(asked, form).ok  # each event's answer is required
    check = check_answers(asked, {**form, "content_relevant@ev_a": ["5"], "content_relevant@ev_b": ["2"]})
    assert check.ok, check.errors
    deltas = aggregate_deltas(IMPACT, check.answers)
    assert deltas == aggregate_deltas(asked, check.answers)
    cells = spread({"language": "en", "event": "ev_a|ev_b"}, deltas)
    assert cells["language#en"]["n:content_relevant"] == 2
    assert cells["language#en"]["a:content_relevant:5"] == 1 and cells["language#en"]["a:content_relevant:2"] == 1
    assert cells["event#ev_a"]["n:content_relevant"] == 1 and cells["event#ev_a"]["a:content_relevant:5"] == 1
    assert "a:content_relevant:2" not in cells["event#ev_a"]
    assert cells["event#ev_b"]["a:content_relevant:2"] == 1
    assert cells["event#ev_a"]["n:shared_with_colleagues"] == 1  # the other questions count in each event once
