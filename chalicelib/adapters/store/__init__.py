"""DynamoStore: the store's ports on the stage's DynamoDB tables, over the PynamoDB models in ``tables``.

One part per aggregate (its own module here), composed into one class the container hands out. Every write
that must be atomic is one TransactWriteItems call; every read a summary needs is one Query. A throttle
that botocore's retries did not absorb becomes TemporarilyUnavailable on every public method
(``@busy_when_throttled``).
"""

from __future__ import annotations

from chalicelib.adapters.store.base import DUE_SHARD, busy_when_throttled
from chalicelib.adapters.store.erasure import DynamoErasure
from chalicelib.adapters.store.events import DynamoEvents
from chalicelib.adapters.store.imports import DynamoImports
from chalicelib.adapters.store.invitations import DynamoInvitations
from chalicelib.adapters.store.participants import DynamoParticipants
from chalicelib.adapters.store.questionnaires import DynamoQuestionnaires
from chalicelib.adapters.store.responses import DynamoResponses
from chalicelib.adapters.store.sending import DynamoSending
from chalicelib.adapters.store.shares import DynamoShares
from chalicelib.adapters.store.waves import DynamoWaves

__all__ = ["DUE_SHARD", "DynamoStore"]


@busy_when_throttled
class DynamoStore(
    DynamoEvents,
    DynamoImports,
    DynamoParticipants,
    DynamoWaves,
    DynamoInvitations,
    DynamoSending,
    DynamoResponses,
    DynamoShares,
    DynamoErasure,
    DynamoQuestionnaires,
):
    """Implements every store port (``domain.ports.Store``) against the stage's DynamoDB tables."""
