"""Powertools Logger, Metrics and Tracer, shared by every handler.

The logger never receives personal data: handlers log ids and outcomes, never emails, names or tokens,
and a filter masks anything that looks like an email address or a token, tracebacks included.

Tracing: every Lambda invocation runs in one X-Ray subsegment, ``## <handler>``, annotated with safe values
only: the handler, the HTTP method, the route *pattern* (``/s/{token}``, never the path, which holds the
token), the status, ``event_id`` / ``wave_id`` when they have the shape of our ids, and the exception type
(never its message). Powertools' Tracer patches botocore, so every AWS call (boto3 and PynamoDB) is a
subsegment too. Importing the X-Ray SDK costs more than importing boto3, so the Tracer is created on the
first traced invocation in Lambda, and never where tracing is off (``POWERTOOLS_TRACE_DISABLED``, tests,
``chalice local``, the local pump). Whatever the X-Ray SDK records on its own (a ClientError's message can
quote an address) goes through ``mask`` before it leaves the function.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from chalice.app import Request, Response, SQSEvent

SERVICE = "event-feedback"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
# A link's path, not a route pattern (/s/{token}); no backslash, so that a masked JSON document stays valid.
_PATH_TOKEN = re.compile(r"/(s|u|r|o)/(?!\{)[^/\s\"'\\]+")


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


def log_refusal(reason: str) -> None:
    """The one record of a configuration this process refuses to run with (a ConfigurationError's message):
    the reason, which names variables and never values; no traceback, which would say nothing more."""
    # stacklevel: the record's location is the boundary that refused (a route, the authorizer, a job)
    logger.error("configuration refused", extra={"reason": mask(reason)}, stacklevel=3)


F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


def _flush_metrics() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an invocation with nothing to count is normal
        metrics.flush_metrics(raise_on_empty_metrics=False)
    # With metrics disabled (the local pump) nothing is flushed or cleared, and Powertools would
    # print the accumulated set by itself once it reaches 100 values.
    metrics.clear_metrics()


def flushing(handler: F) -> F:
    """Emit the handler's business metrics as EMF when it returns or raises (Chalice handlers take one
    argument, so Powertools' ``log_metrics`` decorator does not fit them)."""

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            _flush_metrics()

    return run  # type: ignore[return-value]


# --- tracing ----------------------------------------------------------------------------------------------

_TRUE = {"1", "true", "t", "yes", "y", "on"}  # Powertools' own reading of a boolean variable
_SAFE_ID = re.compile(r"[a-z]{2}_[0-9a-f]{8,32}")  # ev_… and wv_… (domain/model.py new_id)
_ID_KEYS = {"event_id": "event_id", "wave_id": "wave_id", "ef-event": "event_id", "ef-wave": "wave_id"}
_tracer: Any = None
_cold_start = True


def tracing_enabled() -> bool:
    """Powertools' rule, read before anything is imported: on in Lambda unless ``POWERTOOLS_TRACE_DISABLED``;
    off outside it (no ``LAMBDA_TASK_ROOT``) and under SAM CLI or ``chalice local``."""
    env = os.environ
    if env.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in _TRUE:
        return False
    return bool(env.get("LAMBDA_TASK_ROOT")) and not env.get("AWS_SAM_LOCAL") and not env.get("AWS_CHALICE_CLI_MODE")


def tracer() -> Any:
    """The process's Powertools Tracer, created (and botocore patched) on first use."""
    global _tracer
    if _tracer is None:
        _tracer = _new_tracer()
    return _tracer


def _new_tracer() -> Any:
    from aws_lambda_powertools import Tracer

    # botocore only: it carries boto3's and PynamoDB's calls; patch_all would also wrap httplib, sqlite3...
    made = Tracer(service=SERVICE, patch_modules=["botocore"])
    recorder: Any = made.provider  # the X-Ray SDK's global recorder
    recorder.configure(emitter=_masking_emitter())
    return made


def _masking_emitter() -> Any:
    from aws_xray_sdk.core.emitters.udp_emitter import PROTOCOL_DELIMITER, PROTOCOL_HEADER, UDPEmitter

    class MaskingEmitter(UDPEmitter):  # type: ignore[misc]
        """The X-Ray SDK's UDP emitter, with every document masked like a log line before it is sent."""

        def send_entity(self, entity: Any) -> None:
            try:
                self._send_data(f"{PROTOCOL_HEADER}{PROTOCOL_DELIMITER}{mask(entity.serialize())}")
            except Exception:  # noqa: BLE001 - like the SDK's own emitter: tracing never fails an invocation
                logging.getLogger(__name__).warning("trace segment not sent")

    return MaskingEmitter()


def _safe_ids(pairs: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """``event_id`` / ``wave_id`` when every value seen has our id shape and there is exactly one of each."""
    seen: dict[str, set[str]] = {}
    for key, value in pairs:
        name = _ID_KEYS.get(key)
        if name is not None:
            seen.setdefault(name, set()).add(value if isinstance(value, str) else "")
    return {
        name: next(iter(values))
        for name, values in seen.items()
        if len(values) == 1 and _SAFE_ID.fullmatch(next(iter(values)))
    }


def _json_items(text: str) -> Iterable[tuple[str, Any]]:
    try:
        found = json.loads(text)
    except ValueError:
        return []
    return found.items() if isinstance(found, dict) else []


def _event_ids(event: Any) -> dict[str, str]:
    """The ids a handler's event carries, read from the fields that hold ids and nowhere else."""
    if isinstance(event, Request):
        return _safe_ids((event.uri_params or {}).items())
    if isinstance(event, SQSEvent):
        # A send job: top-level event_id and wave_id beside the address. An SES notification (the feedback
        # queue): the message tags the sender set.
        return _safe_ids(pair for record in event for pair in (*_json_items(record.body), *_tag_items(record.body)))
    return {}


def _tag_items(text: str) -> list[tuple[str, Any]]:
    """The message tags of an SES notification (each a one-value list), as (key, value) pairs."""
    mail = dict(_json_items(text)).get("mail")
    tags = mail.get("tags") if isinstance(mail, dict) else None
    if not isinstance(tags, dict):
        return []
    return [(k, v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in tags.items()]


def _in_subsegment(name: str, annotations: Mapping[str, str], call: Callable[[], R]) -> R:
    """Run ``call`` in a subsegment ``## name``. The SDK's own context manager would record the exception's
    message and stack; this records the type only, and flags the fault."""
    global _cold_start
    recorder = tracer().provider
    subsegment = recorder.begin_subsegment(f"## {name}")
    if subsegment is None:  # no segment to attach to (only outside Lambda's facade segment)
        return call()
    try:
        subsegment.put_annotation("ColdStart", _cold_start)
        subsegment.put_annotation("Service", SERVICE)
        _cold_start = False
        for key, value in annotations.items():
            subsegment.put_annotation(key, value)
        result = call()
        status = getattr(result, "status_code", None)
        if isinstance(status, int):
            subsegment.put_annotation("status", status)
            subsegment.apply_status_code(status)
        return result
    except Exception as exc:
        subsegment.add_fault_flag()
        subsegment.put_annotation("error", type(exc).__name__)
        raise
    finally:
        recorder.end_subsegment()


def traced(handler: F) -> F:
    """Trace an event handler (one Chalice event argument): a subsegment named after the handler, with the
    event's safe ids. With tracing off it only calls the handler."""
    name = handler.__name__

    @functools.wraps(handler)
    def run(event: Any) -> Any:
        if not tracing_enabled():
            return handler(event)
        return _in_subsegment(name, {"handler": name, **_event_ids(event)}, lambda: handler(event))

    return run  # type: ignore[return-value]


def http_boundary(request: Request | None, get_response: Callable[[Request | None], Response]) -> Response:
    """Chalice HTTP middleware for every route: trace the request (route pattern, method, status, safe ids)
    and flush the metrics the view counted as EMF, once per request."""

    def respond() -> Response:
        try:
            return get_response(request)
        finally:
            _flush_metrics()

    if request is None or not tracing_enabled():
        return respond()
    annotations = {"handler": "api", "method": request.method, **_event_ids(request)}
    route = (request.context or {}).get("resourcePath")
    if isinstance(route, str):
        annotations["route"] = route  # the pattern: /s/{token}, not the path with the token in it
    return _in_subsegment("api", annotations, respond)
