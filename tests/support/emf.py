"""Powertools' metrics as the tests read them: the EMF documents a handler printed on stdout."""

from __future__ import annotations

import json


def emf_metrics(stdout: str) -> dict[str, float]:
    """Every metric value in the EMF documents printed on stdout, summed by name."""
    found: dict[str, float] = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        doc = json.loads(line)
        if "_aws" not in doc:
            continue
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "EventFeedback"
        for metric in directive["Metrics"]:
            value = doc[metric["Name"]]
            found[metric["Name"]] = found.get(metric["Name"], 0) + (sum(value) if isinstance(value, list) else value)
    return found
