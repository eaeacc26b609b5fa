"""Shared fixtures. Fake AWS credentials everywhere: nothing in the suite may reach a real endpoint."""

from __future__ import annotations

import os

import pytest

from tests.support import personal_data

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_METRICS_NAMESPACE="EventFeedback",
    POWERTOOLS_TRACE_DISABLED="1",
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture(scope="session", autouse=True)
def _public_values(tmp_path_factory):
    """The list of committed values that make deploy writes into every package (deploy/public_values.py): the
    suite's cloud stages check secrets against it as a deployed one would."""
    from chalicelib import stage_secrets
    from deploy.public_values import write

    path = tmp_path_factory.mktemp("public-values") / "public_values.txt"
    write(path)
    original = stage_secrets.PUBLIC_VALUES_FILE
    stage_secrets.PUBLIC_VALUES_FILE = path
    stage_secrets.public_value_hashes.cache_clear()
    yield path
    stage_secrets.PUBLIC_VALUES_FILE = original
    stage_secrets.public_value_hashes.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings():
    from chalicelib import container
    from chalicelib.settings import reset_settings

    reset_settings()
    container.reset()
    yield
    reset_settings()
    container.reset()


@pytest.fixture(autouse=True)
def _no_personal_data_in_logs(request, caplog, capsys):
    """Every test: nothing it logged or printed may contain an email address, a link token, or a name or
    organisation from the test data or the demo seed (tests/support/personal_data.py)."""
    yield
    if request.node.get_closest_marker("allows_personal_output"):
        return
    out, err = capsys.readouterr()
    logged = "\n".join(
        record.getMessage() + " " + (record.exc_text or "") + " " + str(getattr(record, "__dict__", ""))
        for record in caplog.records
    )
    for where, text in (("log records", logged), ("stdout", out), ("stderr", err)):
        found = personal_data.find(text)
        assert found is None, f"personal data in {where}: {found!r}"
    # Put the output back so pytest still shows it for failing tests.
    print(out, end="")
