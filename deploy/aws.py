"""The AWS account a deploy talks to: one boto3 session, its clients, and errors turned into advice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from deploy.stage import DeployError

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)


@dataclass
class Account:
    """The account of the current credentials (or of the embedded AWS, when ``endpoint_url`` is set)."""

    region: str
    endpoint_url: str | None = None
    session: Any = None
    _clients: dict[str, Any] = field(default_factory=dict)
    _identity: dict[str, str] | None = None

    @classmethod
    def from_environment(cls, region: str | None = None, endpoint_url: str | None = None) -> Account:
        try:
            session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
        except BotoCoreError as exc:  # a broken profile or config file
            raise DeployError(f"the AWS configuration cannot be read: {exc}") from exc
        if not session.region_name:
            raise DeployError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or pass REGION=eu-west-1")
        return cls(region=session.region_name, endpoint_url=endpoint_url, session=session)

    def client(self, service: str) -> Any:
        found = self._clients.get(service)
        if found is None:
            found = self.session.client(service, endpoint_url=self.endpoint_url, config=_CONFIG)
            self._clients[service] = found
        return found

    @property
    def id(self) -> str:
        return self.identity()["Account"]

    @property
    def partition(self) -> str:
        return self.identity()["Arn"].split(":")[1]

    def identity(self) -> dict[str, str]:
        """Who the credentials are: checked first, so that a missing or expired key fails in one clear line."""
        if self._identity is None:
            with advice("check the AWS credentials"):
                try:
                    reply = self.client("sts").get_caller_identity()
                except NoCredentialsError as exc:
                    raise DeployError(
                        "no AWS credentials found: export AWS_PROFILE (aws sso login) or AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY for the account to deploy into, then re-run"
                    ) from exc
                except NoRegionError as exc:
                    raise DeployError("no AWS region: set AWS_REGION or pass REGION=...") from exc
            self._identity = {"Account": reply["Account"], "Arn": reply["Arn"]}
        return self._identity


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


_CREDENTIAL_CODES = {
    "InvalidClientTokenId": "the access key is not valid in this account or partition",
    "SignatureDoesNotMatch": "the secret access key does not match the access key",
    "ExpiredToken": "the session has expired (aws sso login, or refresh the temporary credentials)",
    "ExpiredTokenException": "the session has expired (aws sso login, or refresh the temporary credentials)",
    "UnrecognizedClientException": "the credentials are not recognised",
    "AccessDenied": "the credentials lack a permission the deploy needs",
    "AccessDeniedException": "the credentials lack a permission the deploy needs",
}


@contextmanager
def advice(doing: str) -> Iterator[None]:
    """Turn an AWS error inside the block into a DeployError that says what failed and what to do."""
    try:
        yield
    except DeployError:
        raise
    except ClientError as exc:
        code = error_code(exc)
        why = _CREDENTIAL_CODES.get(code)
        message = str(exc.response.get("Error", {}).get("Message", "")) or code
        if why:
            raise DeployError(f"{doing}: {why} ({code}: {message})") from exc
        raise DeployError(f"{doing}: {code}: {message}") from exc
    except NoCredentialsError as exc:
        raise DeployError(f"{doing}: no AWS credentials found (export AWS_PROFILE or access keys)") from exc
    except BotoCoreError as exc:
        raise DeployError(f"{doing}: {exc}") from exc
