"""Lazily created, cached boto3 clients: none exists until first use, so moto can mock them in tests.

The endpoint comes from settings (moto server locally, AWS in the cloud). Building the settings of a
cloud stage reads its secrets, which needs a client before any settings exist: ``client_at()`` and
``secrets_provider()`` take the region and endpoint as arguments for that reason, and never call
``get_settings()`` (which would recurse). ``reset_clients()`` drops every client and provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.settings import get_settings

if TYPE_CHECKING:  # Powertools' parameters utility imports boto3 and every provider: first use only
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

_clients: dict[tuple[str, str, str | None], Any] = {}
_providers: dict[tuple[str, str | None], SecretsProvider] = {}


def client(service: str) -> Any:
    settings = get_settings()
    return client_at(service, settings.region, settings.endpoint_url)


def client_at(service: str, region: str, endpoint_url: str | None) -> Any:
    """The cached client of ``service`` for this region and endpoint, without reading settings."""
    key = (service, region, endpoint_url)
    found = _clients.get(key)
    if found is None:
        import boto3  # imported here: the handler module must stay cheap to import (cold start)
        from botocore.config import Config

        found = boto3.session.Session().client(
            service,
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10),
        )
        _clients[key] = found
    return found


def secrets_provider(region: str, endpoint_url: str | None) -> SecretsProvider:
    """Powertools' Secrets Manager provider over our own client, so the endpoint override and moto apply;
    one per region and endpoint, so its value cache lives as long as the process (or ``reset_clients()``)."""
    key = (region, endpoint_url)
    found = _providers.get(key)
    if found is None:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        found = SecretsProvider(boto3_client=client_at("secretsmanager", region, endpoint_url))
        _providers[key] = found
    return found


def reset_clients() -> None:
    _clients.clear()
    _providers.clear()
