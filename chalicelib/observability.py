"""Powertools Logger and Metrics, shared by every handler. (Tracer arrives with X-Ray permissions; it is
imported lazily then, because importing the X-Ray SDK costs more than importing boto3.)

The logger never receives personal data: handlers log ids and outcomes, never emails, names or tokens,
and a filter masks anything that looks like an email address or a token, tracebacks included.
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

SERVICE = "event-feedback"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
_PATH_TOKEN = re.compile(r"/(s|u)/[^/\s\"']+")


def mask(text: str) -> str:
    text = _EMAIL.sub("<email>", text)
    text = _PATH_TOKEN.sub(r"/\1/<token>", text)
    return _TOKEN.sub("<token>", text)


class _MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if record.args:
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.msg = f"{record.msg} [{type(exc).__name__}]"
        return True


logger = Logger(service=SERVICE)
logger.addFilter(_MaskPersonalData())
metrics = Metrics(namespace="EventFeedback", service=SERVICE)


def count(name: str, value: float = 1) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def log_event(message: str, **fields: Any) -> None:
    logger.info(message, extra=fields)


F = TypeVar("F", bound=Callable[..., Any])


def flushing(handler: F) -> F:
    """Emit the handler's business metrics as EMF when it returns or raises (Chalice handlers take one
    argument, so Powertools' ``log_metrics`` decorator does not fit them)."""

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # an invocation with nothing to count is normal
                metrics.flush_metrics(raise_on_empty_metrics=False)
            # With metrics disabled (the local pump) nothing is flushed or cleared, and Powertools would
            # print the accumulated set by itself once it reaches 100 values.
            metrics.clear_metrics()

    return run  # type: ignore[return-value]
