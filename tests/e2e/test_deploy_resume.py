"""A deploy that fails half-way is resumed by running it again, with nothing duplicated.

The real ``chalice deploy`` runs against an embedded AWS (a moto server in this process, with the rehearsal's API
Gateway patch). The first run fails after Chalice has created the functions, the sender's SQS event source and
the REST API, but before it could record them (it records only on success): moto's CreateDeployment is made to
fail, as a throttled or interrupted API Gateway call would. The second run must find what the first created, so
that the stage ends with one REST API and one event source mapping, and passes every wiring check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.aws import Account
from deploy.checks import check
from deploy.deploying import Options, deploy, destroy
from deploy.infra import EmbeddedInfra
from deploy.inventory import inventory, rest_apis
from deploy.rehearsal import SENDER, embedded_aws
from deploy.stage import DeployError, Stage


@pytest.fixture
def account() -> Iterator[Account]:
    with embedded_aws() as endpoint:
        found = Account.from_environment("us-east-1", endpoint_url=endpoint)
        found.client("ses").verify_domain_identity(Domain=SENDER.rpartition("@")[2])
        yield found


def _quiet(_: str) -> None:
    return None


def test_a_deploy_that_failed_half_way_resumes_without_duplicates(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.apigateway.models import APIGatewayBackend

    stage, infra, project = Stage.named("dev"), EmbeddedInfra(account), tmp_path / "dev"

    def interrupted(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected: API Gateway CreateDeployment interrupted")

    monkeypatch.setattr(APIGatewayBackend, "create_deployment", interrupted)
    with pytest.raises(DeployError) as failed:
        deploy(stage, account, infra, Options(sender=SENDER), project_dir=project, say=_quiet)
    assert "re-run" in str(failed.value)
    assert len(rest_apis(account, stage)) == 1, "the first run did not get as far as the REST API"
    monkeypatch.undo()

    lines: list[str] = []
    deployed = deploy(stage, account, infra, Options(), project_dir=project, say=lines.append)
    adopted = [line for line in lines if "adopted from an unfinished deploy" in line]
    assert adopted and "REST API" in adopted[0] and "event source on event-feedback-dev-send" in adopted[0], lines
    assert len(rest_apis(account, stage)) == 1
    sender = account.client("lambda").get_function_configuration(FunctionName=stage.function_names["sender"])
    mappings = account.client("lambda").list_event_source_mappings(FunctionName=sender["FunctionArn"])
    assert len(mappings["EventSourceMappings"]) == 1
    assert check(deployed).problems == []

    destroy(stage, account, infra, data=True, project_dir=project, say=_quiet)
    assert inventory(account, stage) == {}
