"""Which route a request goes to, with API Gateway's precedence.

A route matches when its method is the request's (or ``ANY``) and its path matches segment by segment: a
literal segment equals the request's (after percent-decoding), ``{name}`` takes one non-empty segment, a final
``{name+}`` takes one or more. Among the routes that match, the most specific wins, compared segment by segment
from the left: a literal beats ``{name}``, which beats ``{name+}``; on equal paths an exact method beats
``ANY``. An HTTP API also puts every full match (no greedy variable) before any greedy route, and its
``$default`` route catches what nothing else matched: the order AWS documents for HTTP APIs ("full match", then
greedy variables, then ``$default``). A REST API's resource tree is walked from the root, a literal child
preferred at each level, which is the left-to-right comparison.

The server answers at ``/``, as ``sam local start-api`` does; a REST API's stage may also prefix the path
(``/Prod/items``), as on an execute-api URL, so links a function builds from ``requestContext.path`` work too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from local_runtime.apigateway.spec import DEFAULT_ROUTE, ApiKind, ApiRoute

__all__ = ["RouteMatch", "RouteTable"]

_LITERAL, _VARIABLE, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class RouteMatch:
    """A request matched to a route: the path within the stage (as sent, percent-encoded), the path parameters
    (decoded) and the stage prefix the request carried (``""`` when it had none)."""

    route: ApiRoute
    path: str
    path_parameters: dict[str, str] = field(default_factory=dict)
    stage_prefix: str = ""


def _split(path: str) -> list[str]:
    """Segments of a path; a trailing slash is ignored (``/items/`` is ``/items``)."""
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


@dataclass(frozen=True)
class _Compiled:
    route: ApiRoute
    segments: tuple[str, ...]
    ranks: tuple[int, ...]

    @classmethod
    def of(cls, route: ApiRoute) -> _Compiled:
        segments = tuple(_split(route.path))
        ranks = tuple(_GREEDY if s.endswith("+}") else _VARIABLE if s.startswith("{") else _LITERAL
                      for s in segments)
        return cls(route, segments, ranks)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The path parameters when ``parts`` (raw segments) match this route's path, else None."""
        greedy = bool(self.ranks) and self.ranks[-1] == _GREEDY
        if (len(parts) < len(self.segments)) if greedy else (len(parts) != len(self.segments)):
            return None
        params: dict[str, str] = {}
        for i, (want, rank) in enumerate(zip(self.segments, self.ranks, strict=True)):
            if rank == _GREEDY:
                rest = "/".join(parts[i:])
                if not rest:
                    return None
                params[want[1:-2]] = unquote(rest)
            elif rank == _VARIABLE:
                if not parts[i]:
                    return None
                params[want[1:-1]] = unquote(parts[i])
            elif unquote(parts[i]) != want:
                return None
        return params

    def specificity(self, method: str) -> tuple[int, tuple[int, ...], int]:
        """Lower is more specific. HTTP APIs put every full match before any greedy route; a REST API walks its
        resource tree from the root, preferring a literal child at each level, so its order is the ranks'."""
        greedy = 1 if self.route.kind == "HTTP" and self.ranks and self.ranks[-1] == _GREEDY else 0
        return greedy, self.ranks, 0 if self.route.method == method else 1


class RouteTable:
    """The routes of one or more APIs served on one port."""

    def __init__(self, routes: Iterable[ApiRoute]) -> None:
        self.routes = list(routes)
        self._compiled = [_Compiled.of(r) for r in self.routes if r.path != DEFAULT_ROUTE]
        self._defaults = [r for r in self.routes if r.path == DEFAULT_ROUTE]
        self._stages = {r.stage for r in self.routes if r.kind == "REST"}

    @property
    def kind(self) -> ApiKind:
        """Whose answer an unmatched request gets: a REST API's 403 when the table has any REST route, else an
        HTTP API's 404."""
        return "REST" if any(r.kind == "REST" for r in self.routes) else "HTTP"

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        """The best route for ``method`` on ``raw_path`` (percent-encoded, without the query), or None."""
        method = method.upper()
        raw_path = raw_path or "/"
        parts = _split(raw_path)
        if parts and parts[0] in self._stages:
            # As on an execute-api URL: /<stage>/... reaches that stage's routes.
            prefix = "/" + parts[0]
            staged = self._best(method, parts[1:], only_stage=parts[0])
            if staged is not None:
                route, params = staged
                return RouteMatch(route, raw_path[len(prefix):] or "/", params, prefix)
        found = self._best(method, parts)
        if found is not None:
            return RouteMatch(found[0], raw_path, found[1])
        if self._defaults:
            return RouteMatch(self._defaults[0], raw_path)
        return None

    def _best(self, method: str, parts: list[str],
              only_stage: str | None = None) -> tuple[ApiRoute, dict[str, str]] | None:
        best: tuple[tuple[int, tuple[int, ...], int], int, ApiRoute, dict[str, str]] | None = None
        for order, compiled in enumerate(self._compiled):
            route = compiled.route
            if route.method not in (method, "ANY"):
                continue
            if only_stage is not None and (route.kind != "REST" or route.stage != only_stage):
                continue
            params = compiled.match(parts)
            if params is None:
                continue
            key = (compiled.specificity(method), order)
            if best is None or key < best[:2]:
                best = (key[0], order, route, params)
        return None if best is None else (best[2], best[3])
