"""The questionnaire catalogue: built-in definitions shipped as data, plus custom ones from storage."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.questionnaires import Questionnaire, parse_questionnaire

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "questionnaires"
BUILTIN_IDS = ("satisfaction", "impact")


class DefinitionStore(Protocol):
    def get_questionnaire_definition(self, questionnaire_id: str, version: int) -> dict[str, Any] | None: ...

    def list_questionnaire_definitions(self) -> list[dict[str, Any]]: ...


@cache
def builtin(questionnaire_id: str) -> Questionnaire:
    path = BUILTIN_DIR / f"{questionnaire_id}.json"
    if questionnaire_id not in BUILTIN_IDS or not path.exists():
        raise NotFound(f"questionnaire {questionnaire_id!r} not found")
    return parse_questionnaire(json.loads(path.read_text(encoding="utf-8")))


_custom_cache: dict[tuple[str, int], Questionnaire] = {}


def resolve(store: DefinitionStore, questionnaire_id: str, version: int | None = None) -> Questionnaire:
    """A questionnaire by id (latest built-in when no version is given). Versions are immutable, so cached."""
    if questionnaire_id in BUILTIN_IDS:
        found = builtin(questionnaire_id)
        if version is None or version == found.version:
            return found
    if version is None:
        versions = [d for d in store.list_questionnaire_definitions() if d.get("id") == questionnaire_id]
        if not versions:
            raise NotFound(f"questionnaire {questionnaire_id!r} not found")
        latest = max(versions, key=lambda d: int(d.get("version", 0)))
        return parse_questionnaire(latest)
    key = (questionnaire_id, version)
    if key not in _custom_cache:
        definition = store.get_questionnaire_definition(questionnaire_id, version)
        if definition is None:
            raise NotFound(f"questionnaire {questionnaire_id!r} version {version} not found")
        _custom_cache[key] = parse_questionnaire(definition)
    return _custom_cache[key]


class DefinitionWriter(DefinitionStore, Protocol):
    def put_questionnaire_definition(
        self, questionnaire_id: str, version: int, definition: str, now: datetime
    ) -> None: ...


def register(store: DefinitionWriter, definition: Any, now: datetime) -> Questionnaire:
    """Validate and store a custom questionnaire; a version, once stored, never changes."""
    questionnaire = parse_questionnaire(definition)
    if questionnaire.id in BUILTIN_IDS:
        raise ValidationFailed(
            f"{questionnaire.id!r} is a built-in questionnaire; choose another id",
            details=[f"id: {questionnaire.id!r} is reserved"],
        )
    store.put_questionnaire_definition(
        questionnaire.id, questionnaire.version, json.dumps(definition, ensure_ascii=False, sort_keys=True), now
    )
    return questionnaire


def describe(questionnaire: Questionnaire, *, builtin: bool = False) -> dict[str, Any]:
    return _describe(questionnaire, builtin=builtin)


def listing(store: DefinitionStore) -> list[dict[str, Any]]:
    out = []
    for qid in BUILTIN_IDS:
        q = builtin(qid)
        out.append(_describe(q, builtin=True))
    for definition in store.list_questionnaire_definitions():
        out.append(_describe(parse_questionnaire(definition), builtin=False))
    return out


def _describe(q: Questionnaire, *, builtin: bool) -> dict[str, Any]:
    return {
        "id": q.id,
        "version": q.version,
        "builtin": builtin,
        "languages": list(q.languages),
        "title": dict(q.title),
        "questions": [
            {"id": x.id, "type": x.type, "indicator": x.indicator, "required": x.required} for x in q.questions
        ],
    }
