"""OnceGuard on Powertools idempotency: a DynamoDB record per key, completed only on success."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from logistics.adapters.retry import BOTO_CONFIG

SEVEN_DAYS_S = 7 * 24 * 3600


class PowertoolsOnce:
    """Runs an action once per key across retries and redeliveries.

    A failed action leaves no record (Powertools deletes it), so the retry runs it again; a
    completed one returns its stored result without running.
    """

    def __init__(self, table: str, expires_after_s: int = SEVEN_DAYS_S, boto3_session: Any = None) -> None:
        self.persistence = DynamoDBPersistenceLayer(table_name=table, boto_config=BOTO_CONFIG,
                                                    boto3_session=boto3_session)
        self.config = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=expires_after_s,
                                        use_local_cache=False)
        self._actions: dict[str, Callable[[], dict[str, Any]]] = {}

        @idempotent_function(data_keyword_argument="request", persistence_store=self.persistence, config=self.config)
        def _guarded(request: dict[str, str]) -> dict[str, Any]:
            return self._actions[request["key"]]()

        self._guarded = _guarded

    def register_lambda_context(self, context: Any) -> None:
        """Lets Powertools expire in-progress records when the invocation would time out."""
        self.config.register_lambda_context(context)

    def run_once(self, key: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        self._actions[key] = action
        try:
            return self._guarded(request={"key": key})
        finally:
            self._actions.pop(key, None)
