"""The path prefix the browser reached the API under, from the request API Gateway sent."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import Request

from chalicelib.api.request import base_path


def request(route: str, used: str | None, params: dict[str, str] | None = None, **context: Any) -> Request:
    ctx: dict[str, Any] = {"httpMethod": "GET", "resourcePath": route, **context}
    if used is not None:
        ctx["path"] = used
    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": {},
            "pathParameters": params,
            "requestContext": ctx,
            "body": None,
            "stageVariables": None,
        }
    )


@pytest.mark.parametrize(
    ("route", "used", "expected"),
    [
        ("/s/{token}", "/api/s/abc", "/api"),  # the execute-api host: the stage comes first
        ("/s/{token}", "/s/abc", ""),  # a custom domain mapped at its root, and chalice local
        ("/s/{token}", "/feedback/s/abc", "/feedback"),  # a custom domain's base-path mapping
        ("/s/{token}", "/surveys/v2/s/abc", "/surveys/v2"),  # a multi-level base path
        ("/s/{token}/thanks", "/api/s/abc/thanks", "/api"),
        ("/dashboard", "/api/dashboard", "/api"),
        ("/dashboard", "/api/dashboard/", "/api"),  # a trailing slash is not a segment
        ("/dashboard/events/{event_id}", "/api/dashboard/events/ev%20x", "/api"),  # encoded parameters count once
        ("/health", "/health", ""),
        ("/", "/api/", "/api"),
        ("/", "/", ""),
    ],
)
def test_the_prefix_is_what_comes_before_the_route(route: str, used: str, expected: str) -> None:
    assert base_path(request(route, used, stage="api")) == expected


@pytest.mark.parametrize(
    ("route", "used"),
    [
        ("/s/{token}", None),  # no path in the context at all
        ("/s/{token}/thanks", "/api/s/abc/other"),  # the route's own words do not match: trust nothing
        ("/s/{token}", "/a b/s/abc"),  # not a stage or base-path name
        ("/s/{token}", "/../s/abc"),
        ("/s/{token}", "/%2F%2Fevil.example/s/abc"),
        ("/files/{path+}", "/api/files/a/b/c"),  # a greedy route has no fixed length
    ],
)
def test_anything_else_gives_the_root(route: str, used: str | None) -> None:
    assert base_path(request(route, used)) == ""


def test_a_doubled_slash_cannot_make_a_link_to_another_host() -> None:
    prefix = base_path(request("/s/{token}", "//evil.example/s/abc"))
    assert not prefix.startswith("//")


def test_outside_a_request_there_is_no_prefix() -> None:
    assert base_path(None) == ""
