"""What a stage is called: its resource prefix, stack, functions and log groups, all derived from one name."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
# How long each stage's function logs are kept (they carry IDs and outcomes, never personal data).
LOG_RETENTION_DAYS = {"dev": 30, "prod": 365}
# Stages that exist only against an embedded AWS: their built-in secrets are public, so they never deploy.
LOCAL_ONLY = frozenset({"local", "test"})


class DeployError(Exception):
    """A deploy step failed in a way ops can fix: the message says what happened and what to do."""


def app_name() -> str:
    name: str = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))["app_name"]
    return name


def cloud_stages() -> list[str]:
    """The stages of .chalice/config.json that may be deployed (dev, prod)."""
    stages = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))["stages"]
    return sorted(name for name in stages if name not in LOCAL_ONLY)


@dataclass(frozen=True)
class Stage:
    """One deployable stage. Every AWS resource of the stage carries ``prefix``; no two stages share one."""

    name: str
    app: str

    @classmethod
    def named(cls, name: str) -> Stage:
        if name in LOCAL_ONLY:
            raise DeployError(
                f"stage {name!r} runs only against the embedded AWS (its secrets are built in and public); "
                f"deploy one of: {', '.join(cloud_stages())}"
            )
        if name not in cloud_stages():
            raise DeployError(f"unknown stage {name!r}: .chalice/config.json defines {', '.join(cloud_stages())}")
        if not re.fullmatch(r"[a-z][a-z0-9]{0,15}", name):
            raise DeployError(f"stage name {name!r} must be lower-case letters and digits")
        return cls(name=name, app=app_name())

    @property
    def prefix(self) -> str:
        """The infra stack's ResourcePrefix: tables, queues, topics, configuration set, pool, secrets."""
        return f"{self.app}-{self.name}"

    @property
    def stack_name(self) -> str:
        return self.prefix

    @property
    def deployed_state_parameter(self) -> str:
        """The SSM parameter that keeps Chalice's deployed state, so any clone can update the stage in place."""
        return f"/{self.prefix}/chalice-deployed"

    @property
    def log_retention_days(self) -> int:
        return LOG_RETENTION_DAYS.get(self.name, 30)

    @cached_property
    def function_names(self) -> dict[str, str]:
        """Chalice's name for each Lambda function of the app (API handler, authorizers, event handlers)."""
        return function_names(self.app, self.name)


def function_names(app: str, stage: str) -> dict[str, str]:
    """``{"api_handler": "event-feedback-dev", "sender": "event-feedback-dev-sender", ...}`` from the app itself."""
    import app as application  # the Chalice app; importing it creates no client (cold-start rule)

    chalice_app = application.app
    names = {"api_handler": f"{app}-{stage}"} if chalice_app.routes else {}
    handlers = [h.name for h in chalice_app.builtin_auth_handlers]
    handlers += [source.name for source in chalice_app.event_sources]
    handlers += [f.name for f in chalice_app.pure_lambda_functions]
    names.update({name: f"{app}-{stage}-{name}" for name in handlers})
    return names
