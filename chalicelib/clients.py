"""Lazily created, cached boto3 clients: none exists until first use, so moto can mock them in tests.

The endpoint comes from settings (moto server locally, AWS in the cloud). ``reset_clients()`` drops them.
"""

from __future__ import annotations

from typing import Any

from chalicelib.settings import get_settings

_clients: dict[tuple[str, str, str | None], Any] = {}


def client(service: str) -> Any:
    settings = get_settings()
    key = (service, settings.region, settings.endpoint_url)
    found = _clients.get(key)
    if found is None:
        import boto3  # imported here: the handler module must stay cheap to import (cold start)
        from botocore.config import Config

        found = boto3.session.Session().client(
            service,
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10),
        )
        _clients[key] = found
    return found


def reset_clients() -> None:
    _clients.clear()
