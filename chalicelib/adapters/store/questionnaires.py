"""DynamoStore, questionnaires: custom definitions, immutable per version."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.adapters import tables as t
from chalicelib.domain.errors import Conflict


class DynamoQuestionnaires:
    def get_questionnaire_definition(self, questionnaire_id: str, version: int) -> dict[str, Any] | None:
        try:
            item = t.QuestionnaireItem.get(questionnaire_id, version)
        except DoesNotExist:
            return None
        loaded: dict[str, Any] = json.loads(item.definition)
        return loaded

    def put_questionnaire_definition(self, questionnaire_id: str, version: int, definition: str, now: datetime) -> None:
        try:
            t.QuestionnaireItem(questionnaire_id, version, definition=definition, created_at=now).save(
                condition=t.QuestionnaireItem.questionnaire_id.does_not_exist()
            )
        except PutError as exc:
            if "ConditionalCheckFailed" in str(exc):
                raise Conflict(f"questionnaire {questionnaire_id} version {version} already exists") from None
            raise

    def list_questionnaire_definitions(self) -> list[dict[str, Any]]:
        return [json.loads(i.definition) for i in t.QuestionnaireItem.scan()]
