"""Turn the measurements into rows with targets, print them, and write ``bench/RESULTS.md``.

Long because it is the whole of RESULTS.md: one section writer per figure, each with its method, target and
reproducing command beside the numbers, so a reader of the file finds its source in one place.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.burst import REFERENCE, TX_SECONDS, WINDOW_SECONDS, Comparison
from bench.calls import ResponseCalls, SendCalls
from bench.deployment import Deployment
from bench.imports import ImportTimes
from bench.list_import import ListImport
from bench.meter import Call, Window
from bench.next_send import NextSend
from bench.programme import BY, INDICATOR, K, Programme, Volume
from bench.scenarios import CallsResult
from bench.series import EVENTS as SERIES_EVENTS
from bench.series import PEOPLE as SERIES_PEOPLE
from bench.series import SHARE_IN_SEVERAL, SeriesBench
from bench.summary_reads import Checkpoint
from bench.throughput import Throughput

COMMAND = "make bench"
RUNS_AS = "PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m bench"
TABLE_PREFIX = "event-feedback-"
MAX_CALLS_PER_RESPONSE = 2
MAX_CALLS_PER_EMAIL = 2
MAX_SUMMARY_RCU = 2.0
MIN_RATIO = 1000.0
MAX_IMPORT_RATIO = 1.3
WRITE_UNIT = 1024
REFERENCE_ZIPPED = 5_000_000  # performance.md section 7: deployment excluding boto3
REFERENCE_UNZIPPED = 25_000_000
VERSIONED = ("boto3", "botocore", "moto", "pynamodb", "chalice")


@dataclass
class Results:
    calls: CallsResult | None = None
    summary: list[Checkpoint] | None = None
    imports: ImportTimes | None = None
    deployment: Deployment | None = None
    throughput: Throughput | None = None
    programme: Programme | None = None
    next_send: NextSend | None = None
    list_import: ListImport | None = None
    burst: Comparison | None = None
    series: SeriesBench | None = None
    seconds: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)  # at start
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per part


def idle_estimate(results: Results) -> str:
    """What the run would take on an idle machine: import timing alone, then the scenarios on 2 workers."""
    parts = {k: v for k, v in results.cpu.items() if k != "imports"}
    longest = max(parts.values(), default=0.0)
    estimate = results.cpu.get("imports", 0.0) + max(longest, sum(parts.values()) / 2)
    spent = ", ".join(f"{k} {v:.0f} s" for k, v in results.cpu.items())
    return f"CPU time {spent}: about {estimate:.0f} s on an idle 2-core machine"


@dataclass
class Row:
    key: str
    figure: str
    measured: str
    target: str
    ok: bool | None  # None: informational, no target
    why: str = ""  # analysis shown when the target is missed


@dataclass
class Machine:
    date: str
    platform: str
    cpus: int
    python: str
    versions: dict[str, str] = field(default_factory=dict)


def machine() -> Machine:
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return Machine(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        platform=platform.platform(),
        cpus=os.cpu_count() or 0,
        python=sys.version.split()[0],
        versions=versions,
    )


# Formatting ---------------------------------------------------------------------------------------
def mark(ok: bool | None) -> str:
    return "ℹ️" if ok is None else ("✅" if ok else "❌")


def size(n: float) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.1f} kB"
    return f"{int(n)} B"


def units(x: float) -> str:
    return f"{x:,.1f}"


def per(window: Window, n: int) -> str:
    """``2.00 (SendRawEmail 1.00, TransactWriteItems 1.00)``."""
    ops = ", ".join(f"{op} {count / n:.2f}" for op, count in sorted(window.by_operation().items()))
    return f"{len(window) / n:.2f} ({ops})"


def actions(calls: Iterable[Call]) -> str:
    """A transaction's actions with logical table names: ``Put responses, Update aggregates ×5``."""
    counted: Counter[str] = Counter()
    for call in calls:
        for action in call.actions:
            kind, _, table = action.partition(" ")
            counted[f"{kind} {table.removeprefix(TABLE_PREFIX)}"] += 1
    return ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in counted.items())


# Rows ---------------------------------------------------------------------------------------------
def response_rows(r: ResponseCalls) -> list[Row]:
    first, edit = len(r.first), len(r.edit)
    return [
        Row(
            "1a",
            "AWS calls per stored response: `POST /s/{token}`, first answer",
            r.first.describe(),
            f"≤ {MAX_CALLS_PER_RESPONSE}",
            first <= MAX_CALLS_PER_RESPONSE,
        ),
        Row(
            "1b",
            "AWS calls per stored response: `POST /s/{token}`, edit (form at version 1)",
            r.edit.describe(),
            f"≤ {MAX_CALLS_PER_RESPONSE}",
            edit <= MAX_CALLS_PER_RESPONSE,
            why=(
                "An edit moves the counters from the old answers to the new ones inside its transaction. The "
                "edit form carries the stored answers as an HMAC-sealed copy bound to the participant, the wave "
                "and the version, so the submit takes the old answers from it; the transaction's version "
                "condition proves they are still the stored ones. A forged, foreign or stale copy costs one "
                "read more (tests/integration/test_edit_path.py)."
            ),
        ),
        Row(
            "1c",
            "AWS calls to open the form for the first time: `GET /s/{token}`",
            r.form_view.describe(),
            "≤ 2: the link and the “opened” mark (issue 17)",
            len(r.form_view) <= 2,
            why=(
                "The link's GetItem, then one transaction that marks the invitation opened and, when it was not "
                "fresh, returns it; the wave comes from a 10-second cache, a built-in questionnaire from the code."
            ),
        ),
    ]


def send_rows(s: SendCalls) -> list[Row]:
    return [
        Row(
            "2",
            f"AWS calls per sent invitation (`send_records`, {s.emails} queued jobs)",
            per(s.send, s.emails),
            f"≤ {MAX_CALLS_PER_EMAIL} (SES + one state write)",
            len(s.send) / s.emails <= MAX_CALLS_PER_EMAIL,
            why=(
                "A send job carries IDs only (issue 13, defect 4), so the sender reads the address, the name and "
                "the rest when it sends: one BatchGetItem (invitation, participant, wave and event at once) before "
                "the claim's transaction. That read is what lets an erasure stop a job already queued, and keeps "
                "every address and name out of the queue and its dead letters; the target predates it."
            ),
        )
    ]


def summary_rows(points: list[Checkpoint]) -> list[Row]:
    sizes = " / ".join(f"{p.responses:,}" for p in points)
    queries = [len(p.aggregate_query) for p in points]
    items = [p.aggregate_query.items for p in points]
    last = points[-1]
    baseline = last.baseline or last.computed_baseline
    how = "measured" if last.baseline else "computed from the written item sizes"
    whole = [p.summary.read_units for p in points]
    metadata = last.summary.read_units - last.aggregate_query.read_units
    with_metadata = (baseline.read_units + metadata) / last.summary.read_units
    return [
        Row(
            "3a",
            f"Summary (`reports.summarize`, by stakeholder group) at {sizes} responses: requests",
            " / ".join(p.summary.describe() for p in points[:1])
            + (" at every size" if len({p.summary.describe() for p in points}) == 1 else " (varies)"),
            "one Query of the aggregates, the same at every size",
            set(queries) == {1},
        ),
        Row(
            "3b",
            f"Summary: items read at {sizes}",
            " / ".join(str(n) for n in items),
            "the same number at every size",
            len(set(items)) == 1,
        ),
        Row(
            "3c",
            f"Summary RCU (eventually consistent, computed) at {sizes}",
            " / ".join(units(p.aggregate_query.read_units) for p in points)
            + " for the Query; "
            + " / ".join(units(w) for w in whole)
            + " with the event and wave GetItems",
            f"≤ {MAX_SUMMARY_RCU:g}",
            max(whole) <= MAX_SUMMARY_RCU,
        ),
        Row(
            "3d",
            f"Naive recount ÷ summary RCU at {last.responses:,} responses",
            f"{last.ratio:,.0f}× Query for Query ({units(baseline.read_units)} ÷ "
            f"{units(last.aggregate_query.read_units)} RCU; naive {how}); {with_metadata:,.0f}× if the event "
            "and wave GetItems, which both paths need, are added to each side",
            f"≥ {MIN_RATIO:,.0f}×",
            last.ratio >= MIN_RATIO,
            why=(
                "The naive Query returns every response item (≈ "
                f"{last.response_item_bytes} B each), so its RCU grow with the responses while the summary's "
                "stay flat; the ratio is the response volume divided by the few aggregate items' size."
            ),
        ),
        Row(
            "3e",
            f"Largest aggregate item at {sizes} → WCU of one counter update",
            " / ".join(f"{p.max_aggregate_bytes} B" for p in points)
            + f" → {last.counter_update_wcu} WCU (at {last.projected[0]:,} responses: {last.projected[1]} B)",
            "≤ 1 KB → 1 WCU (performance.md §2)",
            max(p.max_aggregate_bytes for p in points) <= WRITE_UNIT,
            why=(
                "Counter names such as `a:cooperation_measures:5` take more bytes than the counts; every "
                "submit rewrites five such items (one per dimension), so each KB over costs 5 × 2 WCU more."
            ),
        ),
        Row(
            "3f",
            "Aggregate counters equal a recount from the raw responses (naive path, by stakeholder group)",
            "; ".join(
                f"{p.responses:,}: " + ("yes" if p.baseline.recount_matches else "**no**")
                for p in points
                if p.baseline is not None
            )
            + ("" if all(p.baseline for p in points) else " (not recounted where the naive path was computed)"),
            "aggregates checked against a recount (PRODUCT.md, “How it is built”)",
            all(p.baseline.recount_matches for p in points if p.baseline is not None),
            why="The counters written from the generated answers differ from what the stored responses add up to.",
        ),
    ]


def import_rows(t: ImportTimes) -> list[Row]:
    loaded = ", ".join(
        f"{name} ({len(mods)} module{'s' if len(mods) > 1 else ''})" for name, mods in t.heavy_modules.items()
    )
    heavy_ok = not any(name in t.heavy_modules for name in ("boto3", "pynamodb", "jinja2", "pydantic", "aws_xray_sdk"))
    return [
        Row(
            "4a",
            f"`import app` ÷ `import boto3` (medians of {t.runs} interleaved fresh processes)",
            f"{t.ratio:.2f} ({t.app_ms:.0f} ms ÷ {t.boto3_ms:.0f} ms)",
            f"≤ {MAX_IMPORT_RATIO}",
            t.ratio <= MAX_IMPORT_RATIO,
            why="Something heavy is imported at module level; see the module list in section 4.",
        ),
        Row(
            "4b",
            "Clients created by `import app`; heavy packages it imports",
            f"{len(t.clients_created)} clients; {loaded or 'none of them'}",
            "no client at import; heavy modules imported where used",
            not t.clients_created and heavy_ok,
        ),
    ]


def deployment_rows(d: Deployment) -> list[Row]:
    s = d.sizes
    zipped = s["deployment.zipped"] + s["layer-deployment.zipped"] - d.sdk_zipped
    unzipped = s["deployment.unzipped"] + s["layer-deployment.unzipped"] - d.sdk_unzipped
    never = {k: v for k, v in d.unwanted.items() if k != "type stubs, C sources"}
    found = "; ".join(f"{kind}: {len(hits)} files, {size(sum(n for _, n in hits))}" for kind, hits in never.items())
    crypto = next((z for name, _, z in d.layer_packages if name == "cryptography"), 0)
    return [
        Row(
            "5a",
            "Function zip (`chalice package --stage prod`), zipped / unzipped",
            f"{size(s['deployment.zipped'])} / {size(s['deployment.unzipped'])}",
            "as small as the packaging allows, reported",
            None,
        ),
        Row(
            "5b",
            "Layer zip (automatic layer: requirements.txt), zipped / unzipped",
            f"{size(s['layer-deployment.zipped'])} / {size(s['layer-deployment.unzipped'])}",
            "as small as the packaging allows, reported",
            None,
        ),
        Row(
            "5c",
            "Function + layer without boto3 and its dependencies, zipped / unzipped",
            f"{size(zipped)} / {size(unzipped)}",
            "≤ 5 MB / ≤ 25 MB (performance.md §7)",
            zipped <= REFERENCE_ZIPPED and unzipped <= REFERENCE_UNZIPPED,
            why=(
                f"`cryptography` alone is {size(crypto)} zipped: `pyjwt[crypto]` pulls it in to verify the "
                "Cognito RS256 tokens (an API Gateway Cognito authorizer would not need it, but would not run "
                "under `chalice local`). The boto3 family the layer pins adds "
                f"{size(d.sdk_zipped)} zipped on top of that; the Lambda runtime has its own copy."
            ),
        ),
        Row(
            "5d",
            "Files a Lambda never uses, in both zips (test tools, caches, docs)",
            found or "none",
            "no test tools, no docs, no caches",
            not never,
            why=(
                "Two `.rst` examples inside the boto3 wheel (`boto3/examples/`), which Chalice copies as is; "
                "nothing of ours. They go if boto3 is not pinned in the layer, or if packaging prunes them."
            ),
        ),
    ]


def throughput_rows(t: Throughput) -> list[Row]:
    return [
        Row(
            "6",
            f"Local stack, {t.participants:,} participants: invited → answered → summary (moto in-process)",
            f"{t.emails:,} emails, {t.answered} answers, summary n = {t.respondents}; "
            f"{t.calls_per_email:.2f} AWS calls per email; *informational:* {t.emails_per_second:.1f} emails/s",
            "runs without error and reports its throughput",
            t.respondents == t.answered and t.emails == t.participants,
        )
    ]


def _per_table(p: Programme, v: Volume) -> dict[str, Window]:
    """The programme call's Queries by logical table (events by year, waves by event, aggregates by wave)."""
    return {name: v.queries(table) for name, table in p.tables.items()}


def _same_reads(p: Programme) -> bool:
    """Every volume makes the same requests, table by table, and reads the same number of items."""
    shapes = {
        (
            tuple(sorted(v.window.by_operation().items())),
            tuple((name, len(w), w.items) for name, w in _per_table(p, v).items()),
            v.window.items,
        )
        for v in p.volumes
    }
    return len(shapes) == 1


def programme_rows(p: Programme) -> list[Row]:
    first = p.volumes[0]
    volumes = " / ".join(f"{v.respondents:,}" for v in p.volumes)
    tables = _per_table(p, first)
    expected_requests = 1 + 2 * p.events  # one Query of the year's events, then per wave its list and its cells
    aggregates = [_per_table(p, v)["aggregates"] for v in p.volumes]
    ok = (
        _same_reads(p)
        and len(first.window) == expected_requests
        and all(v.waves == p.events and v.n_matches for v in p.volumes)
    )
    return [
        Row(
            "7",
            f"Programme summary (`reports.programme`, `{INDICATOR}`) over {p.events} events × 1 wave at "
            f"{volumes} respondents per event: requests, items read, RCU (eventually consistent, computed)",
            f"{first.window.describe()}: "
            + ", ".join(f"{name} {len(w)}" for name, w in tables.items())
            + f" (= 1 + 2 × {p.events} waves)"
            + (" at both volumes" if _same_reads(p) else " (**varies**)")
            + "; items "
            + " / ".join(str(v.window.items) for v in p.volumes)
            + "; RCU "
            + " / ".join(units(v.window.read_units) for v in p.volumes)
            + " (aggregate Queries "
            + " / ".join(units(w.read_units) for w in aggregates)
            + f": each wave's {p.groups} cells pass 4 KB as answer counters appear; "
            f"{units(p.projected[1])} computed at {p.projected[0]:,} respondents per event)",
            "reads grow with events, not with responses (issue 5)",
            ok,
            why=(
                "The programme view should make one Query of the year's events and, per wave, one Query of its "
                f"waves list and one of its aggregate cells ({expected_requests} requests for {p.events} events), "
                "reading the same items whatever the response volume; see section 7 for what differed."
            ),
        )
    ]


def next_send_rows(n: NextSend) -> list[Row]:
    sizes = " / ".join(f"{s.invitations:,}" for s in n.sizes)
    shapes = {(tuple(sorted(s.read.by_operation().items())), s.read.items) for s in n.sizes}
    first = n.sizes[0].read
    ok = len(shapes) == 1 and len(first) == 1 and first.items <= 1 and all(s.same for s in n.sizes)
    return [
        Row(
            "8",
            f"A wave's next send (`waves.next_send`, per wave of the events list and the event page) at {sizes} "
            "invitations: requests, items read, RCU (eventually consistent, computed)",
            f"{first.describe()}, {first.items} item, "
            + " / ".join(units(s.read.read_units) for s in n.sizes)
            + " RCU"
            + (" at every size" if len(shapes) == 1 else " (**varies**)")
            + "; the read it replaced (every invitation of the wave): "
            + " / ".join(f"{s.scan.items:,} items, {units(s.scan.read_units)} RCU" for s in n.sizes)
            + "; same instant: "
            + ("yes" if all(s.same for s in n.sizes) else "**no**"),
            "one read of an index kept up to date, the same at every size (issue 12)",
            ok,
            why=(
                "The next send should be the first item of the sparse `wave-due` index: one Query, one item, "
                "whatever the wave's size, and the same instant as the earliest `due_at` of its invitations."
            ),
        )
    ]


def list_import_rows(li: ListImport) -> list[Row]:
    ok = all(f.imported == f.rows and not f.rejected and f.window.retried == 0 for f in li.formats)
    return [
        Row(
            "9",
            f"Importing a registration list of {li.formats[0].rows:,} rows (`planning.import_participants`), "
            + " and ".join(f.name for f in li.formats)
            + ": AWS requests per row; peak memory of reading and validating the list (tracemalloc)",
            "; ".join(
                f"{f.name}: {f.calls_per_row:.3f} requests per row ({f.window.describe()}), "
                f"{f.peak_bytes / 2**20:.1f} MiB peak for a {f.file_bytes / 2**20:.2f} MiB file"
                for f in li.formats
            ),
            "every row accepted; the same requests whatever the format (issue 14)",
            ok,
            why="Every row of both files should import, with the writes batched the same way for both.",
        )
    ]


def _section_list_import(li: ListImport) -> list[str]:
    body = [
        [
            f.name,
            f"{f.file_bytes:,}",
            f"{f.imported:,} / {f.rejected}",
            f.window.describe(),
            f"{f.calls_per_row:.3f}",
            f"{f.peak_bytes / 2**20:.1f} MiB",
        ]
        for f in li.formats
    ]
    return [
        "## 9. Importing a registration list from CSV and from .xlsx",
        "",
        "**Method.** `bench/list_import.py`: a list of 10,000 participants with the columns and values a "
        "registration system exports (`First name` + `Last name`, `Civil society`, `Côte d'Ivoire`, `Français`, "
        "`Yes`), written once as a Windows-1252, semicolon-separated CSV and once as an openpyxl workbook, is "
        "imported into a fresh event through `planning.import_participants` (the JSON API's path). The AWS "
        "requests of the whole import are metered. The peak memory is tracemalloc's, around "
        "`planning.read_list` alone (decoding, the sheet read in read-only mode, every row validated), "
        "because moto runs in-process and would add the items it stores.",
        "",
        *_table(
            ["File", "Bytes", "Imported / rejected", "Requests", "Requests per row", "Peak memory (reading)"],
            body,
        ),
        "",
        "Both formats end in the same requests: one GetItem of the event, one Query of the participants already "
        "there, one of the event's waves, and one conditional PutItem per participant (written unless erased "
        'since the list was read; see the README\'s "Long actions"). The format changes only the reading: '
        "openpyxl's read-only mode streams the sheet, so the peak is the rows held for validation, not the "
        "workbook (the CSV's is higher: the decoded text is held whole while it is split).",
        "",
    ]


def series_rows(r: SeriesBench) -> list[Row]:
    plan_per = len(r.plan) / max(r.recipients, 1)
    dispatch_per = len(r.dispatch) / max(r.dispatched, 1)
    send_per = len(r.send) / max(r.sent, 1)
    shapes = {(len(e), tuple(sorted(e.by_operation().items())), len(lang)) for e, lang in r.summaries.values()}
    flat = len(shapes) == 1
    volumes = " / ".join(f"{v:,}" for v in r.summaries)
    by_event, by_language = next(iter(r.summaries.values()))
    return [
        Row(
            "11",
            f"A series wave over {SERIES_EVENTS} events, {SERIES_PEOPLE:,} distinct people "
            f"({r.records:,} registrations, {SHARE_IN_SEVERAL:.0%} in two or more): AWS calls to plan it, per "
            f"invitation dispatched and sent, and for its summary at {volumes} responses",
            f"{r.recipients:,} invitations (one per person); plan {len(r.plan):,} calls ({plan_per:.2f} per "
            f"invitation); dispatch {dispatch_per:.2f} and sender {send_per:.2f} calls per invitation (as figure 2); "
            f"summary by=event {by_event.describe()}, by=language {by_language.describe()}"
            + (" at every volume" if flat else " (**varies with responses**)"),
            "one invitation per person; plan ≤ 1.1 calls per invitation; summary flat in responses",
            flat and r.recipients == SERIES_PEOPLE and plan_per <= 1.1,
            why="The summary should read counters only (the same calls at every volume), and planning should "
            "write each invitation once, reading the series' participants in pages.",
        )
    ]


def _section_series(r: SeriesBench) -> list[str]:
    body = [
        ["plan (`series.create_series_wave`)", r.plan.describe(), f"{len(r.plan) / max(r.recipients, 1):.2f}"],
        [
            f"send now: dispatch of {r.dispatched:,}",
            r.dispatch.describe(),
            f"{len(r.dispatch) / max(r.dispatched, 1):.2f}",
        ],
        [f"sender, {r.sent} invitations", r.send.describe(), f"{len(r.send) / max(r.sent, 1):.2f}"],
    ]
    for volume, (by_event, by_language) in r.summaries.items():
        body.append([f"summary at {volume:,} responses, by=event", by_event.describe(), "–"])
        body.append([f"summary at {volume:,} responses, by=language", by_language.describe(), "–"])
    return [
        f"## 11. A series wave over {SERIES_EVENTS} events",
        "",
        f"`python -m bench.series`: {SERIES_EVENTS} events, {SERIES_PEOPLE:,} distinct people of whom "
        f"{SHARE_IN_SEVERAL:.0%} are registered in two or more events ({r.records:,} registrations, written with "
        "`put_participants`, not metered). One series wave over all of them (`POST /admin/series-waves`): people are "
        "matched by their keyed email hash, so each gets one invitation. The sender runs on a sample of the queued "
        "jobs; the summary is read at two response volumes.",
        "",
        *_table(["Step", "AWS calls", "Per invitation"], body),
        "",
    ]


def burst_rows(c: Comparison) -> list[Row]:
    b, ref = c.now, c.reference
    versus = (
        f"; before issue 17 ({ref.code}): **{ref.stored} stored, {ref.unavailable} × 503**, "
        f"{ref.conflicts_per_submit:.2f} conflicts per submit"
        if ref is not None
        else "; the reference was not run (no git history)"
    )
    return [
        Row(
            "10",
            f"A burst of {b.participants} participants submitting within about {WINDOW_SECONDS:.0f} s, DynamoDB's "
            f"transaction conflicts emulated ({TX_SECONDS * 1000:.0f} ms per transaction): answers stored, 503s, "
            "TransactWriteItems attempts per submit (median / 99th percentile), conflicts per submit",
            f"**{b.stored} stored, {b.unavailable} × 503**, attempts {b.attempts_median:g} / {b.attempts_p99:g} "
            f"(max {b.attempts_max}), {b.conflicts_per_submit:.2f} conflicts per submit" + versus,
            f"{b.participants} stored, 0 × 503 (issue 17)",
            b.stored == b.participants and b.unavailable == 0 and not b.errors,
            why="Every answer of the burst must be stored first time, and no participant asked to send again.",
        )
    ]


def _section_burst(c: Comparison) -> list[str]:
    runs = [b for b in (c.now, c.reference) if b is not None]
    body = [
        [
            b.code,
            f"{b.stored} / {b.participants}",
            ", ".join(f"{n} × {code}" for code, n in b.statuses.items()),
            f"{b.attempts_median:g} / {b.attempts_p99:g} / {b.attempts_max}",
            f"{b.conflicts_per_submit:.3f} ({b.transactions_cancelled} cancelled)",
            f"{b.funnel['completed']}",
            f"{b.summary_calls}, {b.summary_read_units:g} RCU, {b.summary_items} items",
            f"{b.aggregate_items}",
        ]
        for b in runs
    ]
    out = [
        "## 10. A burst of answers on DynamoDB's transaction semantics",
        "",
        f"**Method.** `bench/burst.py`: {c.now.participants} participants of one wave (invited through the "
        "normal path, each having opened the form) submit within about "
        f"{WINDOW_SECONDS:.0f} s, each from its own thread, through the real view (`chalice.test.Client`, "
        "`POST /s/{token}`), with `devstack.tx_conflicts` on: a TransactWriteItems holds its items "
        f"{TX_SECONDS * 1000:.0f} ms, and one naming a held item is cancelled with `TransactionConflict`, as "
        "DynamoDB does. Attempts are TransactWriteItems requests per submit, counted per thread. The reference "
        f"is the same burst on `{REFERENCE}` (main before issue 17: five counter items per answer, a "
        "ConditionCheck on the wave's item, no retry), checked out into a temporary worktree and run in its own "
        "process with this tree's emulator. Seconds are moto's and not reported; these are counts.",
        "",
        *_table(
            [
                "Code",
                "Stored",
                "Answers",
                "Attempts (median / p99 / max)",
                "Conflicts per submit",
                "Funnel completed",
                "Summary afterwards (`by=stakeholder_group`)",
                "Counter items",
            ],
            body,
        ),
        "",
        "A transaction cancelled only for conflicts is tried again (at most 8 attempts, full jitter), and a "
        "cell whose counter update met the conflict moves, for that retry and the next, to one of 15 shard "
        "items drawn at random (`<dimension>#<value>!<n>`), so that the cells nearly every answer is in "
        "(`sponsored#no`, `language#en`) stop making every answer of the wave wait on one item; the wave's "
        "closing is checked against a 10-second cache of the wave rather than a ConditionCheck that all answers "
        "would hold. A wave answered at a calm pace keeps one item per cell (figure 3). The summary after the "
        "burst is still one Query (the calls are unchanged) and adds the shards up: it reads the shards the "
        "burst created, at most cells × 16 items whatever the number of responses, so its read units are "
        "higher than figure 3's while they stay flat.",
        "",
    ]
    return out


def windows(results: Results) -> list[Window]:
    """Every metered window of the run."""
    out: list[Window] = []
    if results.calls:
        r, s = results.calls.response, results.calls.send
        out += [r.first, r.edit, r.stale_edit, r.form_view, s.send, s.dispatch]
    for p in results.summary or []:
        out.append(p.summary)
        if p.baseline is not None and p.baseline.window is not None:
            out.append(p.baseline.window)
    if results.throughput:
        t = results.throughput
        out += [t.plan, t.dispatch, t.send, t.feedback, t.answers]
    if results.programme:
        out += [v.window for v in results.programme.volumes]
    if results.next_send:
        out += [w for s in results.next_send.sizes for w in (s.read, s.scan)]
    if results.list_import:
        out += [f.window for f in results.list_import.formats]
    if results.series:
        out += [results.series.plan, results.series.dispatch, results.series.send]
        out += [w for pair in results.series.summaries.values() for w in pair]
    return out


def rows(results: Results) -> list[Row]:
    out: list[Row] = []
    if results.calls:
        out += response_rows(results.calls.response) + send_rows(results.calls.send)
    if results.summary:
        out += summary_rows(results.summary)
    if results.imports:
        out += import_rows(results.imports)
    if results.deployment:
        out += deployment_rows(results.deployment)
    if results.throughput:
        out += throughput_rows(results.throughput)
    if results.programme:
        out += programme_rows(results.programme)
    if results.next_send:
        out += next_send_rows(results.next_send)
    if results.list_import:
        out += list_import_rows(results.list_import)
    if results.burst:
        out += burst_rows(results.burst)
    if results.series:
        out += series_rows(results.series)
    return out


def console(results: Results) -> str:
    lines = []
    for row in rows(results):
        lines.append(f"{mark(row.ok)} {row.key:<3} {row.figure.replace('`', '')}")
        lines.append(
            f"        {row.measured.replace('`', '').replace('*', '')}   [target: {row.target.replace('`', '')}]"
        )
    return "\n".join(lines)


# Markdown -----------------------------------------------------------------------------------------
def _table(header: list[str], body: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def _section_calls(c: CallsResult) -> list[str]:
    r, s = c.response, c.send
    out = [
        "## 1. AWS calls per stored response",
        "",
        "Through the real view: `chalice.test.Client` posts a valid satisfaction form to `POST /s/{token}` "
        "(token from an invitation that went through send now → scheduler → sender → SES).",
        "",
    ]
    out += _table(
        ["Request", "AWS calls", "TransactWriteItems actions", "Computed RCU", "DynamoDB response bytes"],
        [
            [
                name,
                w.describe(),
                actions(w.only("TransactWriteItems")) or "—",
                units(w.read_units),
                f"{w.response_bytes:,}",
            ]
            for name, w in (
                ("`POST /s/{token}`, first answer", r.first),
                ("`POST /s/{token}`, edit (`_v=1` and the sealed copy)", r.edit),
                ("`POST /s/{token}`, edit from a stale form (`_v=0`), *no target*", r.stale_edit),
                ("`GET /s/{token}`, form on first open, *no target*", r.form_view),
            )
        ],
    )
    out += [
        "",
        "RCU: the token GetItem is eventually consistent (0.5). The edit takes the stored answers from its "
        "form's sealed copy, so it reads nothing more. The stale-form edit first tries the first-answer "
        "transaction, whose condition fails, then reads the stored response (strongly consistent, 1.0) and "
        "retries.",
        "",
        "## 2. AWS calls per sent invitation",
        "",
        f"`chalicelib.jobs.handlers.send_records` on {s.emails} queued jobs (outcomes {s.outcomes}); SES accepted "
        f"{s.emails} messages.",
        "",
    ]
    out += _table(
        ["Step", "Calls per email", "Total", "TransactWriteItems actions"],
        [
            [
                "Sender (`send_records`)",
                per(s.send, s.emails),
                s.send.describe(),
                actions(s.send.only("TransactWriteItems")[:1]),
            ],
            ["Scheduler (`dispatch_due`), *no target*", per(s.dispatch, s.emails), s.dispatch.describe(), "—"],
        ],
    )
    return [*out, ""]


def _section_summary(points: list[Checkpoint]) -> list[str]:
    out = [
        "## 3. Summary reads: aggregates against a naive recount",
        "",
        "One wave grows to each size. Responses and aggregate items are written directly (BatchWriteItem) "
        "from the same generated answers; stored counts are checked in moto's backend, and the naive "
        "recount must equal the stored counters.",
        "",
        "**Summary** (`reports.summarize(..., by='stakeholder_group')`):",
        "",
    ]
    out += _table(
        [
            "Responses",
            "Requests",
            "Aggregate Query: items / JSON bytes / item bytes",
            "RCU EC (Query / whole)",
            "Aggregate items (all dimensions): count, sizes",
            "WCU per counter update (in a transaction)",
        ],
        [
            [
                f"{p.responses:,}",
                p.summary.describe(),
                f"{p.aggregate_query.items} / {p.aggregate_query.response_bytes:,} / {p.aggregate_query.item_bytes:,}",
                f"{units(p.aggregate_query.read_units)} / {units(p.summary.read_units)}",
                f"{p.stored_aggregates}, {p.min_aggregate_bytes}–{p.max_aggregate_bytes} B",
                f"{p.counter_update_wcu} ({2 * p.counter_update_wcu})",
            ]
            for p in points
        ],
    )
    out += [
        "",
        "**Naive baseline** (`store.list_responses`: Query every response of the wave, aggregate in Python):",
        "",
    ]
    body = []
    for p in points:
        b = p.baseline or p.computed_baseline
        how = (
            "measured"
            if p.baseline
            else f"computed (moto would take ≈ {p.baseline_estimate_seconds:.0f} CPU s, over the bench's budget)"
        )
        body.append(
            [
                f"{p.responses:,}",
                how,
                f"{b.requests}",
                f"{b.items:,}",
                f"{b.response_bytes:,}" if b.measured else "—",
                f"{b.item_bytes:,}",
                units(b.read_units),
                f"{units(p.computed_baseline.read_units)} ({p.computed_baseline.requests} "
                f"page{'s' if p.computed_baseline.requests != 1 else ''})",
                f"{p.ratio:,.0f}×",
                {True: "yes", False: "**no**", None: "—"}[b.recount_matches],
                f"{b.seconds:.1f} s ({b.cpu_seconds:.1f} CPU s)" if b.measured else "—",
            ]
        )
    out += _table(
        [
            "Responses",
            "How",
            "Query pages",
            "Items",
            "JSON bytes",
            "Item bytes",
            "RCU EC",
            "RCU EC computed from sizes",
            "Naive ÷ summary Query RCU",
            "Recount = counters",
            "moto time (*informational*)",
        ],
        body,
    )
    last = points[-1]
    out += [
        "",
        f"A response item is ≈ {last.response_item_bytes} B by DynamoDB's rules. moto cuts Query pages at "
        "1,000,000 B of its own item sizes, DynamoDB at 1 MB of its own, so measured and computed page "
        "counts (and their per-page rounding) can differ by one. Seeding took "
        + ", ".join(f"{p.seed_seconds:.1f} s" for p in points)
        + " (*informational*). A first submit updates 5 aggregate items (one per dimension) inside its "
        f"transaction: {5 * 2 * last.counter_update_wcu} WCU for the counters. With every count scaled to "
        f"{last.projected[0]:,} responses the largest aggregate item would be {last.projected[1]} B: counter "
        "names such as `a:cooperation_measures:5` weigh more than the counts, so the 1 KB margin shrinks by "
        "≈ 15–30 B for each further counter an item gains.",
        "",
    ]
    return out


def _section_imports(t: ImportTimes) -> list[str]:
    heavy = "; ".join(
        f"`{name}`: {', '.join(mods[:6])}{' …' if len(mods) > 6 else ''}" for name, mods in t.heavy_modules.items()
    )
    return [
        "## 4. Import time (cold start)",
        "",
        f"Fresh interpreters, cwd = project root, environment `EF_STAGE=prod`, the three `EF_*_SECRET_ARN` "
        f"variables, `AWS_DEFAULT_REGION` only. {t.runs} runs of each, interleaved.",
        "",
        *_table(
            ["Command", "Median"],
            [
                ["`python -c pass` (*informational*)", f"{t.bare_ms:.0f} ms"],
                ["`python -c 'import boto3'`", f"{t.boto3_ms:.0f} ms"],
                ["`python -c 'import app'`", f"{t.app_ms:.0f} ms"],
                ["ratio app ÷ boto3", f"**{t.ratio:.2f}**"],
            ],
        ),
        "",
        f"Clients created while importing `app` (botocore's `ClientCreator.create_client` wrapped): "
        f"{len(t.clients_created)}{' ' + str(t.clients_created) if t.clients_created else ''}. "
        f"Heavy packages loaded by `import app`: {heavy or 'none'} (checked: "
        "boto3, botocore, pynamodb, jinja2, pydantic, aws_xray_sdk, jwt, cryptography). "
        "The bare `botocore` package (no client machinery) comes with `aws_lambda_powertools`.",
        "",
        "Byte-code is compiled once into a private `PYTHONPYCACHEPREFIX` before timing, for both commands. "
        "On Lambda the layer's wheels and `chalicelib/` ship without `.pyc`, so a real cold start also compiles.",
        "",
    ]


def _section_deployment(d: Deployment) -> list[str]:
    s = d.sizes
    out = [
        "## 5. Deployment size",
        "",
        "`bench.package_sizes.package('prod', tmp)` (`chalice package --stage prod`):",
        "",
        *_table(
            ["Zip", "Files", "Zipped", "Unzipped"],
            [
                [
                    "function (`deployment.zip`)",
                    f"{d.function_files:,}",
                    size(s["deployment.zipped"]),
                    size(s["deployment.unzipped"]),
                ],
                [
                    "layer (`layer-deployment.zip`)",
                    f"{d.layer_files:,}",
                    size(s["layer-deployment.zipped"]),
                    size(s["layer-deployment.unzipped"]),
                ],
                ["of which boto3 and its dependencies", "", size(d.sdk_zipped), size(d.sdk_unzipped)],
            ],
        ),
        "",
        "Largest top-level entries of the layer's `site-packages`:",
        "",
        *_table(
            ["Package", "Unzipped", "Zipped"],
            [[f"`{name}`", size(u), size(z)] for name, u, z in d.layer_packages[:5]],
        ),
        "",
    ]
    if d.unwanted:
        out += ["Files a Lambda does not read, found in the zips:", ""]
        for kind, hits in d.unwanted.items():
            examples = ", ".join(f"`{label}`" for label, _ in hits[:4])
            out.append(f"- {kind}: {len(hits)} files, {size(sum(n for _, n in hits))} (e.g. {examples})")
        out.append("")
    else:
        out += ["No test tools, caches, docs, stubs or C sources in either zip.", ""]
    return out


def _section_throughput(t: Throughput) -> list[str]:
    sending = t.sending()
    out = [
        "## 6. Local throughput (*informational*)",
        "",
        f"{t.participants:,} participants in one wave, in-process moto with `devstack.moto_speedups.install()` "
        "(the local stack's transaction speed-up), sender called once per job as the deployed "
        "`batch_size=1` trigger does. SES delivery/bounce events go through the feedback handler; "
        f"{t.answered} participants open their link and answer through the HTTP views.",
        "",
        *_table(
            ["Step", "AWS calls", "Per email / per answer"],
            [
                ["`waves.send_now`", t.plan.describe(), per(t.plan, t.emails)],
                ["`distribution.dispatch_due` until nothing is due", t.dispatch.describe(), per(t.dispatch, t.emails)],
                ["`send_records`, one job per call", t.send.describe(), per(t.send, t.emails)],
                ["**sending, all steps**", sending.describe(), f"**{per(sending, t.emails)}**"],
                [
                    "SES events → `apply_feedback` (local token lookup included)",
                    t.feedback.describe(),
                    per(t.feedback, t.emails),
                ],
                ["`GET` + `POST /s/{token}` per answer", t.answers.describe(), per(t.answers, t.answered)],
            ],
        ),
        "",
        "The sender alone costs 2 calls per email (figure 2). The scheduler adds one UpdateItem per invitation "
        "(`reschedule` moves the due-index entry to the next reminder or drops it) and one SendMessageBatch per "
        "10 jobs, hence ≈ 3.1 for the whole sending path. The feedback step includes a token GetItem that only "
        "the local SES emulation makes (`devstack.ses_events.token_tags`; SES echoes the tags in AWS).",
        "",
        f"*Informational, moto wall time:* {t.emails:,} emails from send-now to SES in {t.send_seconds:.1f} s = "
        f"**{t.emails_per_second:.1f} emails/s**; {t.answered} answers (form + submit) in {t.answer_seconds:.1f} s = "
        f"{t.answered / t.answer_seconds:.1f} answers/s. In AWS the rate is SES's MaxSendRate "
        "(`EF_SES_MAX_SEND_RATE`), not these figures.",
        "",
        "Summary after the run: "
        + ", ".join(f"{k} {v}" for k, v in t.funnel.items() if v not in (0, None))
        + f"; respondents {t.respondents}.",
        "",
    ]
    return out


def _section_programme(p: Programme) -> list[str]:
    def reads(w: Window) -> str:
        return f"{len(w)} / {w.items:,} / {w.item_bytes:,} / {units(w.read_units)}"

    last = p.volumes[-1]
    body = []
    for v in p.volumes:
        tables = _per_table(p, v)
        body.append(
            [
                f"{v.respondents:,} ({v.respondents * p.events:,} in all)",
                v.window.describe(),
                *(reads(tables[name]) for name in ("events", "waves", "aggregates")),
                f"{v.window.items:,} / {units(v.window.read_units)}",
                f"{units(p.computed_aggregate_units(v))}",
                f"{min(v.read_item_bytes)}–{max(v.read_item_bytes)} B",
                f"{v.waves}, n = {v.n_total:,}, {'yes' if v.n_matches else '**no**'}",
                f"{v.seconds:.1f} s",
            ]
        )
    return [
        f"## 7. Programme summary across {p.events} events",
        "",
        f"`reports.programme(store, {p.year}, '{INDICATOR}', k={K})` (`GET /admin/programme`): one indicator across "
        "every event and wave of a year.",
        "",
        f"**Method.** {p.events} events start in {p.year}, one a week, each with one satisfaction wave "
        "(`events.create_event`, `waves.create_wave`, no registrations). Each wave gets respondents drawn as in "
        "figure 3 (answers from `devstack.seed.answers`, validated; counters from `aggregate_deltas` + funnel with "
        f"25 % non-respondents, spread over the 5 cells), with its own random seed; its first {p.groups} drawn "
        f"participants are one per stakeholder group, so every wave has its {p.groups} stakeholder-group cells at "
        "both volumes. Only the aggregate items are written (BatchWriteItem, as the counters' ADD updates leave "
        "them), no raw responses. The waves reach "
        + " then ".join(f"{v.respondents:,}" for v in p.volumes)
        + " respondents each (the same waves, their aggregate items overwritten with the running totals; "
        "stored counts checked in moto's backend), and one programme call is metered at each volume. Each "
        f"returned row's `n` must equal its wave's stored `n:{INDICATOR}` counters.",
        "",
        *_table(
            [
                "Respondents per event",
                "Requests",
                "Query events by year: requests / items / item bytes / RCU",
                "Query waves by event",
                "Query aggregates by wave",
                "Items / RCU EC, whole call",
                "Aggregate RCU computed from the sizes written",
                "Aggregate item sizes read",
                "Rows, total n, n = counters",
                "moto time (*informational*)",
            ],
            body,
        ),
        "",
        f"Requests: one Query of the events table's `by-year` index, then per wave one Query of the event's "
        f"waves and one of the wave's `{BY}#` aggregate cells, so 1 + 2 × waves whatever the "
        "response volume; the questionnaire is built in, so it costs no read. Items: the year's events, their "
        f"waves, and {p.groups} cells per wave. RCU: the events and waves Queries do not change with the "
        "responses; a wave's aggregate Query sums its items and rounds up to 4 KB (0.5 RCU EC per 4 KB). At "
        f"{p.volumes[0].respondents} respondents a cell holds a handful of people, so many answer-value counters "
        f"(`a:<question>:<value>`) are still zero and absent (items {min(p.volumes[0].read_item_bytes)}–"
        f"{max(p.volumes[0].read_item_bytes)} B); by "
        f"{last.respondents} most exist and each wave's {p.groups} items pass 4 KB, hence 1.0 instead of 0.5 per "
        "wave. That growth stops once every counter exists, since a count only adds digits: with every count "
        f"scaled to {p.projected[0]:,} respondents per event the largest item is {p.projected[2]} B and the "
        f"aggregate Queries are {units(p.projected[1])} RCU, as at {last.respondents}. Seeding took "
        + ", ".join(f"{v.seed_seconds:.1f} s" for v in p.volumes)
        + " (*informational*).",
        "",
    ]


def _section_next_send(n: NextSend) -> list[str]:
    def reads(w: Window) -> str:
        return f"{w.describe()} / {w.items:,} / {w.item_bytes:,} / {units(w.read_units)}"

    body = [
        [
            f"{s.invitations:,}",
            reads(s.read),
            reads(s.scan),
            "yes" if s.same else "**no**",
        ]
        for s in n.sizes
    ]
    return [
        "## 8. A wave's next send",
        "",
        "`waves.next_send(store, wave, now)`: the earliest email a wave still owes, shown for every wave on the "
        "events list and on the event page.",
        "",
        "**Method.** For each size, an event with that many registrations and one satisfaction wave "
        "(`bench.stack.create_event_and_wave`: the import plans one invitation per participant, due at the "
        "opening in the participant's own time zone). One `waves.next_send` call is metered, then the read it "
        "replaced: every invitation of the wave (`store.list_invitations`), whose earliest `due_at` must be "
        "the same instant.",
        "",
        *_table(
            [
                "Invitations",
                "`waves.next_send`: requests / items / item bytes / RCU EC",
                "Every invitation (the read it replaced)",
                "Same instant",
            ],
            body,
        ),
        "",
        "The next send is the first item of the invitations' sparse, keys-only `wave-due` index (`wave_id`, "
        "`due_at`): an invitation is in it only while it owes an email, and DynamoDB moves it with every plan, "
        "claim and reschedule, so reading it costs one Query of one small item (0.5 RCU) whatever the wave's "
        "size. The scan it replaced grew with the wave, once per wave on every load of the events list.",
        "",
    ]


def markdown(results: Results, m: Machine) -> str:
    table = rows(results)
    out = [
        "# Benchmarks",
        "",
        f"Written by `{COMMAND}` (which runs `{RUNS_AS}`) on {m.date}; do not edit by hand. "
        f"The run took {results.seconds:.0f} s ({idle_estimate(results)}).",
        "",
        "## How to read this",
        "",
        "- The figures are **counts** (AWS requests by operation, items, bytes) and **capacity units computed "
        "with DynamoDB's published rules** from the sizes of the items actually stored. They are properties of "
        "the code, so they hold on AWS.",
        "- They are **not moto timings**: moto hard-codes ConsumedCapacity and its Query re-reads the whole "
        "table. Wall times appear only where marked *informational*; the import-time figure is a ratio of "
        "medians taken in the same run.",
        "- Targets come from `PRODUCT.md` (“Targets, measured by the project's own benchmarks”), or from "
        "`performance.md` where that is named. ✅ met, ❌ missed, ℹ️ reported without a target.",
        "",
        "## Figures",
        "",
        *_table(
            ["#", "Figure", "Measured", "Target", ""],
            [[r.key, r.figure, r.measured, r.target, mark(r.ok)] for r in table],
        ),
        "",
    ]
    missed = [r for r in table if r.ok is False]
    if missed:
        out += ["### Targets missed", ""]
        out += [f"- **{r.key}** ({r.measured}): {r.why}" for r in missed]
        out.append("")
    if results.calls:
        out += _section_calls(results.calls)
    if results.summary:
        out += _section_summary(results.summary)
    if results.imports:
        out += _section_imports(results.imports)
    if results.deployment:
        out += _section_deployment(results.deployment)
    if results.throughput:
        out += _section_throughput(results.throughput)
    if results.programme:
        out += _section_programme(results.programme)
    if results.next_send:
        out += _section_next_send(results.next_send)
    if results.list_import:
        out += _section_list_import(results.list_import)
    if results.burst:
        out += _section_burst(results.burst)
    if results.series:
        out += _section_series(results.series)
    out += [
        "## Method",
        "",
        "- **Counting.** boto3 clients made by `chalicelib.clients.client` (SES, SQS) get a `before-send.*` "
        "handler (one count per HTTP request) and an `after-call.*` handler (response bytes). Every DynamoDB "
        "call goes through PynamoDB 6.1's `Connection.dispatch`, which the bench wraps: operation, table, "
        "transaction actions, and the returned data, whose items are sized with `bench/capacity.py`. JSON "
        "bytes are the compact JSON of the response without botocore's `ResponseMetadata`.",
        "- **Capacity.** Item size = attribute name bytes + value bytes (numbers 1 + ⌈digits/2⌉ bytes, maps "
        "and lists 3 bytes + 1 per element). GetItem rounds its item up to 4 KB; a Query page sums its items, "
        "then rounds up to 4 KB; eventually consistent reads cost half. Writes cost 1 WCU per KB of the "
        "larger image, twice that in a transaction.",
        "- **Seeding.** Answers come from `devstack.seed.answers` (the demo's 98 / 96 / 85 % pattern), "
        "validated by `check_answers`; counters from `aggregate_deltas` + `f:completed` spread over the "
        "participant's 5 cells (`store.spread`), plus a funnel with 25 % non-respondents. Responses are the "
        "`ResponseItem` rows `store_response` writes, batch-written with PynamoDB; aggregate items are "
        "written raw with BatchWriteItem, as the counters' ADD updates leave them.",
        "- **Isolation.** Each scenario runs in its own process with its own `moto.mock_aws()`, the "
        "resources of `infra/template.json` (`devstack.provision`) and the env of "
        "`tests/integration/conftest.py::app_env`; scenarios run two at a time. "
        "`devstack.moto_speedups` is installed in every scenario: it changes how fast moto applies a "
        "transaction, never what the app sends.",
        f"- **Retries.** A `before-send` handler on PynamoDB's own botocore client counts DynamoDB HTTP requests: "
        f"{sum(w.dynamodb_http for w in windows(results)):,} in the metered windows, "
        f"{sum(w.retried for w in windows(results))} more than PynamoDB calls, so no count above hides a retry.",
        f"- **Reproduce:** `{COMMAND}` from the project root.",
        "",
        "## Machine",
        "",
        f"- Platform: `{m.platform}`, {m.cpus} CPUs; load average (1 / 5 / 15 min) at start "
        + " / ".join(f"{x:.2f}" for x in results.load)
        + ", at the end "
        + " / ".join(f"{x:.2f}" for x in results.load_end),
        f"- Python {m.python}; " + ", ".join(f"{name} {v}" for name, v in m.versions.items()),
        f"- Command: `{COMMAND}`",
        "",
    ]
    busiest = max(results.load[0], results.load_end[0], results.load_end[1])
    if busiest > m.cpus:
        out[-1:-1] = [
            f"- Note: the machine was shared during this run (load up to {busiest:.1f} on {m.cpus} CPUs); "
            "wall times marked informational, and the run time, are inflated accordingly. Counts are not affected."
        ]
    return "\n".join(out)
