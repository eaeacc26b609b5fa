"""API Gateway in front of the app, as a browser reaches it: through a stage URL, or a custom domain.

The Chalice test client (and ``chalice local``) serve the API at the root and give no way to shape the
event's ``requestContext``. ``Gateway`` builds the REST proxy events API Gateway sends and calls the Chalice
app object directly, as Lambda does. A ``Gateway`` stands for one way in: the host and the path prefix the
browser uses in front of the API's own paths (``/api`` on the execute-api host, ``""`` at the root of a
custom domain, ``/<base-path>`` for a custom domain's base-path mapping). Like API Gateway, it refuses a
request outside that prefix or for a resource or method the API does not have (403, "Missing
Authentication Token"), so a link that would leave the stage fails here as it fails in the cloud.

It has the test client's ``http.get/post/request`` shape, so ``Visitor`` (test_dashboard.py) can drive it,
with the paths a browser would use (prefix included). Authorizers do not run: API Gateway runs them before
Lambda, so set data up through the test client and browse through the gateway.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

from chalice.local import LambdaContext, RouteMatcher
from chalice.test import HTTPResponse

STAGE = "api"
EXECUTE_API_HOST = "abc123.execute-api.us-east-1.amazonaws.com"
REFUSED = b'{"message":"Missing Authentication Token"}'


@dataclass(frozen=True)
class Way:
    """One way in: ``https://{host}{prefix}/...`` reaches the API's ``/...``."""

    name: str
    host: str
    prefix: str

    @property
    def origin(self) -> str:
        return f"https://{self.host}"

    @property
    def base_url(self) -> str:
        return self.origin + self.prefix


STAGE_URL = Way("stage", EXECUTE_API_HOST, f"/{STAGE}")
DOMAIN_ROOT = Way("domain", "surveys.example.org", "")
BASE_PATH_MAPPING = Way("mapping", "events.example.org", "/feedback")


class Gateway:
    def __init__(self, app: Any, way: Way) -> None:
        self.app = app
        self.way = way
        self._matcher = RouteMatcher(list(app.routes))
        self.http = self  # the test client's shape: gateway.http.get(...)

    # What API Gateway accepts ---------------------------------------------------------------------

    def resource(self, method: str, url: str) -> tuple[str, dict[str, str], str] | None:
        """(route, path parameters, API path) for a browser URL this way in accepts, else None."""
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != self.way.host:
            return None
        path = parts.path
        if not (path == self.way.prefix or path.startswith(self.way.prefix + "/")):
            return None
        api_path = path[len(self.way.prefix) :] or "/"
        try:
            match = self._matcher.match_route(api_path)
        except ValueError:
            return None
        if method.upper() not in self.app.routes[match.route]:
            return None
        return match.route, {k: unquote(v) for k, v in (match.captured or {}).items()}, api_path

    def accepts(self, method: str, url: str) -> bool:
        return self.resource(method, url) is not None

    def absolute(self, url: str, page: str) -> str:
        """A URL as the browser resolves it on ``page`` (an absolute URL, or a path on this way's host)."""
        return urljoin(page if urlsplit(page).scheme else self.way.origin + page, url)

    # Requests ---------------------------------------------------------------------------------------

    def event(self, method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
        found = self.resource(method, url)
        if found is None:
            return None
        route, params, api_path = found
        parts = urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True) or None
        sent = {"Host": self.way.host, "X-Forwarded-Proto": "https", **headers}
        media_type = sent.get("Content-Type", sent.get("content-type", "")).split(";")[0].strip()
        binary = media_type in self.app.api.binary_types
        text: str | None = None
        if body:
            try:
                text = base64.b64encode(body).decode() if binary else body.decode("utf-8")
            except UnicodeDecodeError:
                text, binary = base64.b64encode(body).decode(), True
        request_id = str(uuid.uuid4())
        return {
            "resource": route,
            "path": api_path,
            "httpMethod": method.upper(),
            "headers": sent,
            "multiValueHeaders": {k: [v] for k, v in sent.items()},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
            "multiValueQueryStringParameters": query,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route,
                "httpMethod": method.upper(),
                "path": parts.path,  # the path the browser used: the stage or base path, then the API's path
                "stage": STAGE,
                "domainName": self.way.host,
                "requestId": request_id,
                "protocol": "HTTP/1.1",
                "identity": {"sourceIp": "203.0.113.7"},
            },
            "body": text,
            "isBase64Encoded": bool(text) and binary,
        }

    def request(self, method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Any:
        event = self.event(method, url, dict(headers or {}), body)
        if event is None:
            return HTTPResponse(body=REFUSED, headers={"Content-Type": "application/json"}, status_code=403)
        reply = self.app(event, LambdaContext("api_handler", 512))
        return HTTPResponse.create_from_dict(reply)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)
