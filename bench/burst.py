"""Figure 10: a burst of answers on DynamoDB's transaction semantics (issue 17).

500 distinct participants of one wave submit within about five seconds, each from a thread of its own, through
the real view (``POST /s/{token}``, ``chalice.test.Client``), with the transaction-conflict emulator on
(``devstack.tx_conflicts``: a transaction holds its items 25 ms, as DynamoDB's take tens of milliseconds).
Counted: answers stored (must be 500), 503s (must be 0), TransactWriteItems attempts per submit (median, 99th
percentile), conflicts per submit, the wave's funnel and the summary's reads afterwards.

The same burst runs on the design before issue 17 as the reference (``REFERENCE``, checked out into a temporary
worktree and run in a process of its own, with this tree's emulator), so the two are reported side by side.
The figures are counts, not moto times.

    python -m bench.burst                # both, printed
    python bench/burst.py --json         # this tree only (what the reference process runs, in its own tree)
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

PARTICIPANTS = 500
WINDOW_SECONDS = 5.0
TX_SECONDS = 0.025
REFERENCE = "e06f9ae"  # main before issue 17: five counter items per answer, a wave ConditionCheck, no retry
HERE = Path(__file__).resolve().parent.parent
EMULATOR = HERE / "devstack" / "tx_conflicts.py"


@dataclass
class Burst:
    code: str  # "issue 17" or the reference commit
    participants: int
    stored: int
    statuses: dict[str, int]
    attempts_median: float
    attempts_p99: float
    attempts_max: int
    conflicts_per_submit: float
    transactions_cancelled: int
    seconds: float  # informational
    funnel: dict[str, Any]
    summary_calls: str
    summary_read_units: float
    summary_items: int
    aggregate_items: int
    errors: list[str] = field(default_factory=list)

    @property
    def unavailable(self) -> int:
        return self.statuses.get("503", 0)


def _this_tree(path: Path, name: str) -> Any:
    """A module of this tree, loaded by path (the reference tree has neither the emulator nor the local
    server's thread-safety)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _count_transactions() -> threading.local:
    """TransactWriteItems calls made by the current thread (PynamoDB's one dispatch method)."""
    from pynamodb.connection import base

    counts = threading.local()
    real = base.Connection.dispatch

    def dispatch(self: Any, operation_name: str, *args: Any, **kwargs: Any) -> Any:
        if operation_name == "TransactWriteItems":
            counts.n = getattr(counts, "n", 0) + 1
        return real(self, operation_name, *args, **kwargs)

    base.Connection.dispatch = dispatch  # type: ignore[method-assign]
    return counts


def run_here(code: str = "issue 17", participants: int = PARTICIPANTS) -> Burst:
    """The burst on the code this process imports (this tree, or the reference's when run there)."""
    from bench.stack import (
        create_event_and_wave,
        dispatch_all,
        moto_stack,
        prepare_process,
        send_now,
        survey_tokens,
        utcnow,
    )

    prepare_process()
    from chalice.test import Client

    from app import app
    from chalicelib.domain import reports
    from chalicelib.jobs.handlers import send_records
    from devstack import moto_speedups
    from devstack.seed import answers

    moto_speedups.install()
    # Chalice keeps the current request on the app, one per Lambda container; these threads share one app.
    _this_tree(EMULATOR.with_name("chalice_local.py"), "ef_chalice_local").thread_local_requests()
    counts = _count_transactions()
    emulator = _this_tree(EMULATOR, "ef_tx_conflicts")
    from bench.meter import Meter

    meter = Meter().install()
    with moto_stack() as stack, Client(app, stage_name="local") as client:
        now = utcnow()
        wave = create_event_and_wave(stack, participants, now=now)
        send_now(stack, wave, now=now)
        dispatch_all(stack, now=now)
        for body in stack.queue_bodies():
            send_records([body])
        messages = stack.ses_messages()
        tokens = survey_tokens(messages)
        if len(tokens) != participants:
            raise RuntimeError(f"{len(tokens)} links for {participants} participants")
        for token in tokens:  # every participant opened the form before the burst
            if client.http.get(f"/s/{token}").status_code != 200:
                raise RuntimeError("a survey link did not open")

        emulator.install(duration=TX_SECONDS)
        rng = random.Random(17)
        forms = [urlencode(answers(rng), doseq=True).encode() for _ in tokens]
        delays = sorted(rng.uniform(0, WINDOW_SECONDS) for _ in tokens)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        statuses: dict[str, int] = {}
        attempts: list[int] = []
        errors: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(len(tokens) + 1)
        began = 0.0

        def submit(i: int) -> None:
            start.wait()
            time.sleep(max(0.0, began + delays[i] - time.monotonic()))
            counts.n = 0
            try:
                status = str(client.http.post(f"/s/{tokens[i]}", headers=headers, body=forms[i]).status_code)
            except Exception as exc:
                status = "error"
                with lock:
                    errors.append(type(exc).__name__)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                attempts.append(counts.n)

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(tokens))]
        for thread in threads:
            thread.start()
        began = time.monotonic() + 0.2
        start.wait()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - began
        stats = emulator.stats()
        emulator.uninstall()

        stored = sum(1 for _ in stack.store.list_responses(wave.wave_id))
        with meter.window() as reads:
            summary = reports.summarize(stack.store, wave.event_id, wave.wave_id, "stakeholder_group", k=5)
        ordered = sorted(attempts)
        submits = len(ordered)
        return Burst(
            code=code,
            participants=participants,
            stored=stored,
            statuses=dict(sorted(statuses.items())),
            attempts_median=statistics.median(ordered),
            attempts_p99=float(ordered[min(submits - 1, int(0.99 * submits))]),
            attempts_max=ordered[-1],
            conflicts_per_submit=round(stats.cancelled / submits, 3),
            transactions_cancelled=stats.cancelled,
            seconds=round(seconds, 2),
            funnel={k: summary["funnel"][k] for k in ("invited", "opened", "completed")},
            summary_calls=reads.describe(),
            summary_read_units=round(reads.read_units, 1),
            summary_items=reads.items,
            aggregate_items=stack.table_count("aggregates"),
            errors=sorted(set(errors)),
        )


def run_reference(participants: int = PARTICIPANTS) -> Burst:
    """The same burst on ``REFERENCE``, in a worktree of its own and a process of its own."""
    with tempfile.TemporaryDirectory(prefix="ef-burst-ref-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(HERE), "worktree", "add", "--detach", str(tree), REFERENCE],
            check=True,
            capture_output=True,
        )
        try:
            script = Path(tmp) / "burst.py"
            script.write_text(Path(__file__).read_text(encoding="utf-8"), encoding="utf-8")
            env = {**os.environ, "PYTHONPATH": str(tree), "EF_BURST_EMULATOR": str(EMULATOR)}
            out = subprocess.run(
                [sys.executable, str(script), "--json", "--code", REFERENCE, "--participants", str(participants)],
                cwd=tree,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(tree)], capture_output=True)
    return Burst(**json.loads(out.strip().splitlines()[-1]))


@dataclass
class Comparison:
    now: Burst
    reference: Burst | None


def run(participants: int = PARTICIPANTS) -> Comparison:
    now = run_here(participants=participants)
    try:
        reference: Burst | None = run_reference(participants)
    except (subprocess.CalledProcessError, OSError, ValueError) as exc:  # no git history (an archive): say so
        print(f"[bench] burst reference not run: {exc}", file=sys.stderr)
        reference = None
    return Comparison(now, reference)


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--code", default="issue 17")
    parser.add_argument("--participants", type=int, default=PARTICIPANTS)
    args = parser.parse_args(argv)
    if os.environ.get("EF_BURST_EMULATOR"):
        global EMULATOR
        EMULATOR = Path(os.environ["EF_BURST_EMULATOR"])
    import contextlib
    import io

    if args.json:
        with contextlib.redirect_stdout(io.StringIO()):
            result = run_here(args.code, args.participants)
        print(json.dumps(asdict(result)))
        return 0
    comparison = run(args.participants)
    for burst in (comparison.now, comparison.reference):
        if burst is not None:
            print(json.dumps(asdict(burst), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
