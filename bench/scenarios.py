"""The in-process scenarios, each run in a worker process of its own (its own moto, its own meter).

``run(name)`` is what ``bench.__main__`` hands to its process pool; every result is a plain dataclass,
so it travels back by pickle.
"""

from __future__ import annotations

import contextlib
import io
import resource
import time
from dataclasses import dataclass
from typing import Any

from bench.calls import ResponseCalls, SendCalls

SCENARIOS = (
    "burst",
    "summary",
    "throughput",
    "series",
    "calls",
    "deployment",
    "programme",
    "next_send",
    "list_import",
)


@dataclass
class CallsResult:
    response: ResponseCalls
    send: SendCalls


def cpu_seconds() -> float:
    """CPU time of this process and of the children it waited for (``chalice package``)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run(name: str) -> tuple[Any, float]:
    """The scenario's result and the CPU seconds it used (a load-independent cost)."""
    started = cpu_seconds()
    result = _run(name)
    return result, cpu_seconds() - started


def _run(name: str) -> Any:
    from bench.stack import prepare_process

    prepare_process()
    if name == "deployment":
        from bench import deployment

        return deployment.measure()
    if name == "burst":  # its own moto, emulator and meter, and a reference run in a process of its own
        from bench import burst

        with contextlib.redirect_stdout(io.StringIO()):
            return burst.run()

    # Local-only: moto's transactions snapshot only the items they touch (semantics unchanged), as the
    # local stack runs. It changes moto's speed, never what the app sends.
    from bench.meter import Meter
    from devstack import moto_speedups

    moto_speedups.install()
    meter = Meter().install()
    # Powertools prints EMF metrics (and would print logs) to stdout; the bench prints its own figures.
    with contextlib.redirect_stdout(io.StringIO()):
        if name == "calls":
            from bench import calls

            return CallsResult(calls.response_calls(meter), calls.send_calls(meter))
        if name == "summary":
            from bench import summary_reads

            return summary_reads.run(meter)
        if name == "throughput":
            from bench import throughput

            return throughput.run(meter)
        if name == "programme":
            from bench import programme

            return programme.run(meter)
        if name == "series":
            from bench import series

            return series.run(meter)
        if name == "next_send":
            from bench import next_send

            return next_send.run(meter)
        if name == "list_import":
            from bench import list_import

            return list_import.run(meter)
    raise ValueError(f"unknown scenario {name!r}")
