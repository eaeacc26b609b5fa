"""One local stack for the e2e session: moto server, chalice local and the pump, as `make run` starts them
(without the demo seed, so each test makes its own event)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.live import Live, free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (a downloaded browser cannot work here)."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield b
        b.close()


# chalice local's access log (the development server's, not the app's: API Gateway's is off) names each
# request's path, and a participant's path holds their token. `make run` masks it on the console; here it
# is masked the same way, and everything else the stack printed is checked as it was.
_ACCESS_LOG_LINK = re.compile(r'(?<=\] ")([A-Z]+ /[suro]/)[^/\s?"]+')


def _mask_access_log(text: str) -> str:
    return _ACCESS_LOG_LINK.sub(r"\1<token>", text)


def _recording_stack(log: Path) -> Any:
    """The local stack as `make run` starts it, with its own output (the banner, and chalice local's stdout
    and stderr) written to ``log`` instead of the console, so that the session can check it at the end."""
    from devstack.__main__ import LocalStack

    verbose = os.environ.get("EF_E2E_VERBOSE") == "1"

    class RecordingStack(LocalStack):
        def say(self, text: str) -> None:
            with log.open("a", encoding="utf-8") as out:
                out.write(text + "\n")

        def _relay(self, process: Any) -> None:  # type: ignore[override]
            from chalicelib.observability import mask

            assert process.stdout is not None
            with log.open("a", encoding="utf-8") as out:
                for raw in process.stdout:
                    line = raw.decode("utf-8", "replace")
                    out.write(line)
                    out.flush()
                    if verbose:
                        print(mask(line), end="", flush=True)

    return RecordingStack


def assert_no_personal_data_in_stack_output(log: Path) -> None:
    from tests.support import personal_data

    text = _mask_access_log(log.read_text(encoding="utf-8")) if log.exists() else ""
    found = personal_data.find(text)
    assert found is None, f"personal data in the local stack's output ({log}): {found!r}"


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Started as `EF_EMULATE_TX_CONFLICTS=1 make run` starts it: every client of the embedded DynamoDB sees
    DynamoDB's transaction conflicts (devstack/tx_conflicts.py), so every e2e test runs on them."""
    from devstack import tx_conflicts

    local = tmp_path_factory.mktemp("local")
    log = local / "stack-output.log"
    saved = os.environ.get(tx_conflicts.ENV_FLAG)
    os.environ[tx_conflicts.ENV_FLAG] = "1"
    stack = _recording_stack(log)(aws_port=free_port(), port=free_port(), seed=False, quiet=False, local_dir=local)
    try:
        stack.start()
        yield Live(base=f"http://127.0.0.1:{stack.port}", token=stack.admin_token, outbox=stack.outbox, stack=stack)
        stack.banner()
    finally:
        stack.stop()
        tx_conflicts.uninstall()
        if saved is None:
            os.environ.pop(tx_conflicts.ENV_FLAG, None)
        else:
            os.environ[tx_conflicts.ENV_FLAG] = saved
    assert_no_personal_data_in_stack_output(log)
