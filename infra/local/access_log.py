"""The local stack's access log line: the request line with its secrets taken out.

The HTTP front logs one line per request, as http.server does, but never the path as sent: a patient-link
(`/p/…`, `/d/…`) or board (`/board/…`) path carries its token, and a form webhook's query string carries
its `?token=` secret. What is written instead is what API Gateway's access log records on AWS (the route's
template, infra/aws/template.py): the path with every secret parameter replaced by its `{name}`, `?…` for any
query string, and for a path that matches no route only its first segment, if a route starts with it (a
mistyped link is still a token).
"""

from __future__ import annotations

from collections.abc import Iterable

from chalice.local import RouteMatcher

# Route parameters whose value is a secret: the patient-link, dose-link and board tokens.
SECRET_PARAMETERS = frozenset({"token"})
QUERY_MARK = "?…"
NO_ROUTE_MARK = "/…"


class AccessLog:
    """Turns a raw HTTP request line into the line the local stack logs."""

    def __init__(self, routes: Iterable[str]) -> None:
        routes = list(routes)
        self._matcher = RouteMatcher(routes)
        self._prefixes = {route.lstrip("/").split("/", 1)[0] for route in routes}

    def request_line(self, raw: str) -> str:
        parts = raw.split(" ")
        if len(parts) != 3:
            return "<unreadable request line>"  # http.server's 400 for it would otherwise log it whole
        method, target, version = parts
        path, has_query, _ = target.partition("?")
        return f"{method} {self.path(path)}{QUERY_MARK if has_query else ''} {version}"

    def path(self, path: str) -> str:
        try:
            match = self._matcher.match_route(path)
        except ValueError:
            first = path.lstrip("/").split("/", 1)[0]
            return f"/{first}{NO_ROUTE_MARK}" if first in self._prefixes else NO_ROUTE_MARK
        template: str = match.route
        for name, value in match.captured.items():
            if name not in SECRET_PARAMETERS:
                template = template.replace("{" + name + "}", value)
        return template
