"""What one ``Api`` / ``HttpApi`` event of a function declares, every intrinsic resolved: the route, the API it
belongs to and how API Gateway talks to the function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DEFAULT_ROUTE", "ApiKind", "ApiRoute", "PayloadFormat"]

ApiKind = Literal["REST", "HTTP"]
PayloadFormat = Literal["1.0", "2.0"]
DEFAULT_ROUTE = "$default"  # an HTTP API's catch-all route key


@dataclass(frozen=True)
class ApiRoute:
    """One route of one API, integrated with one function (a Lambda proxy integration).

    ``path`` is the resource path (``/items/{id}``, ``/{proxy+}``) or ``$default``; ``method`` is upper case,
    ``ANY`` for every method. ``api_id`` is what the events carry as ``requestContext.apiId``.
    """

    function_logical_id: str
    event_name: str
    kind: ApiKind
    api_logical_id: str  # ServerlessRestApi / ServerlessHttpApi for the implicit APIs
    api_id: str
    method: str
    path: str
    stage: str
    payload_format: PayloadFormat
    timeout_s: float  # the integration timeout (TimeoutInMillis)
    binary_media_types: tuple[str, ...] = ()  # REST only: request bodies of these types arrive base64-encoded
    stage_variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def route_key(self) -> str:
        """An HTTP API's route key: ``GET /items/{id}``, ``ANY /{proxy+}`` or ``$default``."""
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"
