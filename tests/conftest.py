"""Shared fixtures. Fake AWS credentials everywhere: nothing in the suite may reach a real endpoint."""

from __future__ import annotations

import os

import pytest

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


@pytest.fixture(autouse=True)
def _fresh_settings():
    from chalicelib import container
    from chalicelib.settings import reset_settings

    reset_settings()
    container.reset()
    yield
    reset_settings()
    container.reset()
