"""What the state machines (test_distribution_machine, test_answering_machine) share: DynamoDB faults, the
capture of everything logged or printed, and the count of the steps they ran.

DynamoDB faults are injected where DynamoDB itself would answer. PynamoDB makes its own botocore clients
(one per model, one for transactions, one per thread), so the faults are not registered on one client:
they replace the answer that in-process moto would give, for every DynamoDB client at once. Botocore sees
a real HTTP error response, so its own retry policy runs as it would against AWS: PynamoDB's clients make
4 attempts (``max_retry_attempts`` 3, standard mode) and retry ``ProvisionedThroughputExceededException``,
``ThrottlingException`` and 5xx answers; a ``TransactionCanceledException`` whose reasons say
``ThrottlingError`` is not retried. The backoff sleeps are skipped so that the machines stay fast.

``lose_reply`` lets DynamoDB apply the request and then answers 500 instead of its reply, as when a
connection drops after the write: botocore retries the very same request, which then meets its own
condition, so a retried write must be idempotent. (For TransactWriteItems this is harsher than AWS:
DynamoDB answers a retry carrying the same ClientRequestToken, which botocore generates, as a success
without applying it again; moto ignores the token.)
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.endpoint
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

ATTEMPTS = 4  # PynamoDB's default: 1 + max_retry_attempts (3), botocore "standard" retry mode


@dataclass
class _Fault:
    code: str
    left: int
    operations: frozenset[str] | None  # None: any DynamoDB operation
    after: bool = False  # apply the request, then lose the reply
    skip: int = 0  # let this many matching requests through first


def attempts_for(code: str) -> int:
    """How many consecutive errors make one call fail: botocore does not retry a cancelled transaction, the
    store does, TX_ATTEMPTS times in all (issue 17)."""
    from chalicelib.adapters.store.base import TX_ATTEMPTS

    return TX_ATTEMPTS if code == "TransactionCanceledException" else ATTEMPTS


def _error(request: Any, code: str) -> AWSResponse:
    status = 500 if code == "InternalServerError" else 400
    body: dict[str, Any] = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected fault"}
    if code == "TransactionCanceledException":
        body["message"] = (
            "Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError]"
        )
        body["CancellationReasons"] = [
            {"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity"}
        ]
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    return AWSResponse(request.url, status, headers, MockRawResponse(json.dumps(body)))  # type: ignore[arg-type]


class _NoSleep:
    """Stands in for ``time`` inside botocore.endpoint: retries happen, their backoff does not."""

    @staticmethod
    def sleep(_seconds: float) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class DynamoFaults:
    """Arm faults, then run the code under test; ``injected`` counts the error answers given."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self.injected = 0
        self.calls: Counter[str] = Counter()  # every DynamoDB request (attempt) by operation

    def throttle(
        self, count: int, code: str = "ProvisionedThroughputExceededException", operations: Any = None, skip: int = 0
    ) -> None:
        """After ``skip`` requests (of ``operations``, or any) go through, the next ``count`` get ``code``,
        consecutively: a multi-call action can fail half-way."""
        with self._lock:
            self._faults.append(_Fault(code, count, frozenset(operations) if operations else None, skip=skip))

    def lose_reply(self, operation: str) -> None:
        """The next ``operation`` request is applied, and then answered 500 (botocore retries it)."""
        with self._lock:
            self._faults.append(_Fault("InternalServerError", 1, frozenset({operation}), after=True))

    def clear(self) -> int:
        """Disarm; returns how many errors were armed and never given."""
        with self._lock:
            left = sum(f.left for f in self._faults)
            self._faults.clear()
            return left

    def reset_counts(self) -> None:
        with self._lock:
            self.injected = 0
            self.calls.clear()

    def _take(self, operation: str) -> _Fault | None:
        with self._lock:
            self.calls[operation] += 1
            for fault in self._faults:
                if fault.left > 0 and (fault.operations is None or operation in fault.operations):
                    if fault.skip:
                        fault.skip -= 1
                        continue
                    fault.left -= 1
                    self.injected += 1
                    if fault.left == 0:
                        self._faults.remove(fault)
                    return fault
            return None

    @contextmanager
    def installed(self) -> Iterator[DynamoFaults]:
        real = BotocoreStubber.__call__
        faults = self

        def answer(stub: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            parts = event_name.split(".")  # before-send.dynamodb.GetItem
            if not stub.enabled or len(parts) < 3 or parts[1] != "dynamodb":
                return real(stub, event_name, request, **kwargs)
            fault = faults._take(parts[2])
            if fault is not None and not fault.after:
                return _error(request, fault.code)
            response = real(stub, event_name, request, **kwargs)
            if fault is not None:
                return _error(request, fault.code)
            return response

        saved_time = botocore.endpoint.time
        BotocoreStubber.__call__ = answer  # type: ignore[method-assign]
        botocore.endpoint.time = _NoSleep()  # type: ignore[assignment]
        try:
            yield self
        finally:
            BotocoreStubber.__call__ = real  # type: ignore[method-assign]
            botocore.endpoint.time = saved_time
            self.clear()


# Step counts -------------------------------------------------------------------------------------------

STEPS_FILE = Path(__file__).resolve().parents[2] / "test-artifacts" / "state-machine-steps.json"


class StepCounter:
    """Counts the examples and the rule steps a machine actually ran, and writes them to STEPS_FILE under
    the machine's name (read-modify-write under a lock: both machines may run in parallel workers)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.examples = 0
        self.steps = 0
        self.rules: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()

    def note(self, what: str) -> None:
        """Count something worth reporting (a fault that surfaced, one that retries absorbed...)."""
        self.notes[what] += 1

    def example(self) -> None:
        self.examples += 1

    def step(self, rule: str) -> None:
        self.steps += 1
        self.rules[rule] += 1

    def write(self, **extra: Any) -> None:
        STEPS_FILE.parent.mkdir(parents=True, exist_ok=True)
        with open(STEPS_FILE.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                found = json.loads(STEPS_FILE.read_text()) if STEPS_FILE.exists() else {}
            except ValueError:
                found = {}
            found[self.name] = {
                "examples": self.examples,
                "steps": self.steps,
                "steps_per_rule": dict(sorted(self.rules.items())),
                **({"notes": dict(sorted(self.notes.items()))} if self.notes else {}),
                **extra,
            }
            STEPS_FILE.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")


# What the code under test logs and prints ----------------------------------------------------------------


class _Tee(io.TextIOBase):
    def __init__(self, stream: Any, copy: io.StringIO) -> None:
        self.stream, self.copy = stream, copy

    def write(self, text: str) -> int:
        self.copy.write(text)
        return int(self.stream.write(text))

    def flush(self) -> None:
        self.stream.flush()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.getMessage()} {record.exc_text or ''} {record.__dict__}"
        for handler in logging.getLogger(record.name).handlers:  # as Powertools prints it (JSON)
            if handler.formatter is not None:
                try:
                    text += " " + handler.formatter.format(record)
                except Exception:
                    pass
        self.texts.append(text)


class Output:
    """Every log record and everything written to stdout and stderr while installed; ``fresh()`` returns
    what came since the last call.

    The app's logger (``event-feedback``) is also Chalice's app logger, by name; app.py tells Chalice not
    to configure it (``configure_logs=False``), so it stays as Powertools made it (INFO, propagating).
    While installed, it logs every level to our handler as well, so that whatever any level would log is
    checked, DEBUG included."""

    APP_LOGGER = "event-feedback"

    def __init__(self) -> None:
        self._records = _Records()
        self._out = io.StringIO()
        self._saved: tuple[Any, Any] | None = None
        self._level = logging.NOTSET

    def install(self) -> None:
        logging.getLogger().addHandler(self._records)
        app = logging.getLogger(self.APP_LOGGER)
        self._level = app.level
        app.setLevel(logging.DEBUG)
        if not app.propagate:
            app.addHandler(self._records)
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(sys.stdout, self._out)  # type: ignore[assignment]
        sys.stderr = _Tee(sys.stderr, self._out)  # type: ignore[assignment]

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self._records)
        app = logging.getLogger(self.APP_LOGGER)
        app.removeHandler(self._records)
        app.setLevel(self._level)
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None

    def fresh(self) -> str:
        text = "\n".join(self._records.texts) + "\n" + self._out.getvalue()
        self._records.texts.clear()
        self._out.seek(0)
        self._out.truncate()
        return text


@contextmanager
def isolated_transactions() -> Iterator[None]:
    """DynamoDB runs each TransactWriteItems in isolation (serialisable). In-process moto does not: two
    threads can both evaluate the same condition before either writes, and moto restores snapshots over a
    concurrent thread's writes. A lock gives moto's transactions the isolation DynamoDB guarantees, so what a
    concurrent test checks is the application's conditional writes."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    real = DynamoDBBackend.transact_write_items

    def isolated(backend: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return real(backend, *args, **kwargs)

    DynamoDBBackend.transact_write_items = isolated  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = real  # type: ignore[method-assign]
