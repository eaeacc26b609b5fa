"""``make bench``: measure, print the figures, and rewrite ``bench/RESULTS.md``.

Import timing runs first, alone, so the other work does not disturb it. Then the in-process scenarios
and the packaging run in a pool of two worker processes (one per core), longest first.

``python -m bench --only calls,imports`` runs a subset and prints it without touching RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bench import imports, report, scenarios

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PARTS = ("imports", *scenarios.SCENARIOS)
WORKERS = 2


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(PARTS)}")
    args = parser.parse_args(argv)
    args.parts = [p for p in args.only.split(",") if p] or list(PARTS)
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    return args


def _say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    results = report.Results(load=os.getloadavg())
    machine = report.machine()

    if "imports" in args.parts:
        _say(f"[bench] import time: {imports.RUNS} interleaved runs of `import boto3` and `import app`")
        cpu = scenarios.cpu_seconds()
        results.imports = imports.measure()
        results.cpu["imports"] = scenarios.cpu_seconds() - cpu

    # The burst counts conflicts, which depend on how many threads overlap: it runs alone too.
    if "burst" in args.parts:
        _say("[bench] burst: 500 participants' answers at once, alone, then the same on the reference commit")
        results.burst, results.cpu["burst"] = scenarios.run("burst")
    wanted = [name for name in scenarios.SCENARIOS if name in args.parts and name != "burst"]
    if wanted:
        _say(f"[bench] running {', '.join(wanted)} ({WORKERS} worker processes)")
        with ProcessPoolExecutor(max_workers=WORKERS, mp_context=get_context("spawn")) as pool:
            futures: dict[Future[Any], str] = {pool.submit(scenarios.run, name): name for name in wanted}
            for future in as_completed(futures):
                name = futures[future]
                value, results.cpu[name] = future.result()
                setattr(results, name, value)
                _say(
                    f"[bench] {name}: done after {time.perf_counter() - started:.0f} s ({results.cpu[name]:.0f} s CPU)"
                )

    results.seconds = time.perf_counter() - started
    results.load_end = os.getloadavg()
    _say("")
    _say(report.console(results))
    _say("")
    _say(f"[bench] total {results.seconds:.0f} s; {report.idle_estimate(results)}")
    if set(args.parts) == set(PARTS):
        RESULTS.write_text(report.markdown(results, machine), encoding="utf-8")
        _say(f"[bench] wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    else:
        _say("[bench] partial run: bench/RESULTS.md left as it was")
    return 0


if __name__ == "__main__":
    sys.exit(main())
