"""What ``make deploy`` prints once the stage is up: the wiring checks, the smoke check and where to go next."""

from __future__ import annotations

from deploy.checks import Report, check
from deploy.deploying import Deployed
from deploy.smoke import Transport, smoke


def verify_and_report(deployed: Deployed, transport: Transport) -> int:
    """Check the wiring and smoke-test the stage; print both. Answers the exit status (0: all holds)."""
    print("4/4 Checks")
    report = check(deployed)
    print_report(report)
    results = smoke(transport)
    for what, problem in results:
        print(f"  {'ok  ' if problem is None else 'FAIL'} {what}" + (f": {problem}" if problem else ""))
    failed = report.problems + [f"{what}: {problem}" for what, problem in results if problem]
    stage = deployed.stage
    print()
    if failed:
        print(f"Stage {stage.name} is deployed but {len(failed)} check(s) failed:")
        for problem in failed:
            print(f"  - {problem}")
        return 1
    base = deployed.public_base_url
    print(f"Stage {stage.name} is up.")
    print(f"  API (stage URL):   {deployed.api_url}")
    if base != deployed.api_url:
        print(f"  Links in emails:   {base}")
    print(f"  Health:            {base}/health")
    print(f"  Dashboard:         {base}/dashboard")
    print(f"  Admin users:       make user STAGE={stage.name} EMAIL=you@example.org ROLE=admin")
    for note in deployed.notes:
        print(f"  Note: {note}")
    return 0


def print_report(report: Report) -> None:
    print(report.table())
    admin = sum(1 for r in report.routes if " /admin" in r)
    print(f"  REST API: {len(report.routes)} routes ({admin} behind the cognito_jwt authorizer, marked *)")
    by_path: dict[str, list[str]] = {}
    for route in report.routes:
        method, path = route.split(" ", 1)
        by_path.setdefault(path, []).append(method)
    for path, methods in sorted(by_path.items()):
        mark = "*" if path == "/admin" or path.startswith("/admin/") else " "
        print(f"   {mark} {','.join(sorted(methods)):<12} {path}")
    for problem in report.problems:
        print(f"  FAIL {problem}")
