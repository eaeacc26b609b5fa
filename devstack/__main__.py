"""`make run`: the whole system on one machine, in the foreground until Ctrl-C.

moto server (DynamoDB, SES, SQS, SNS, Cognito) on 127.0.0.1:$AWS_PORT, built from infra/template.json;
`chalice local` on 127.0.0.1:$PORT; the local pump; unless SEED=0, the demo's 2013 event before /health and the
rest of the note's programme (2011, 2012) in the background after it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
SENDER = "surveys@example.org"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "EventFeedback",
}


def app_environment(outputs: dict[str, str], endpoint: str, port: int) -> dict[str, str]:
    return {
        **FAKE_AWS,
        "EF_STAGE": "local",
        "EF_ENDPOINT_URL": endpoint,
        "EF_TABLE_PREFIX": outputs["TablePrefix"],
        "EF_SEND_QUEUE_URL": outputs["SendQueueUrl"],
        "EF_FEEDBACK_TOPIC_ARN": outputs["FeedbackTopicArn"],
        "EF_SES_SENDER": SENDER,
        "EF_SES_CONFIGURATION_SET": outputs["ConfigurationSetName"],
        "EF_SES_MAX_SEND_RATE": "1000",
        "EF_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "EF_COGNITO_USER_POOL_ID": outputs["UserPoolId"],
        "EF_COGNITO_CLIENT_ID": outputs["UserPoolClientId"],
        "EF_PSEUDONYM_SECRET": "local-pseudonym-secret-not-for-production",
        "EF_PANEL_SECRET": "local-panel-secret-not-for-production!!",
        "EF_SESSION_SECRET": "local-session-secret-not-for-production!",
    }


def wait_for(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return True
        except Exception:
            time.sleep(0.2)
    return False


class LocalStack:
    """Starts and stops the pieces; the e2e tests use it too."""

    def __init__(self, *, aws_port: int, port: int, seed: bool, quiet: bool = False, local_dir: Path = LOCAL) -> None:
        self.local = local_dir
        self.outbox = local_dir / "outbox"
        self.aws_port = aws_port
        self.port = port
        self.seed = seed
        self.quiet = quiet
        self.endpoint = f"http://127.0.0.1:{aws_port}"
        self.server = None
        self.api: subprocess.Popen[bytes] | None = None
        self.pump = None
        self.thread: threading.Thread | None = None
        self.demo = None
        self.programme = None
        self.programme_failed = False
        self.conflicts = None

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)

    def start(self) -> None:
        self.local.mkdir(parents=True, exist_ok=True)
        import logging

        from moto.server import ThreadedMotoServer

        from devstack import moto_speedups

        moto_speedups.install()
        from devstack import tx_conflicts

        # EF_EMULATE_TX_CONFLICTS=1: DynamoDB's transaction conflicts, for every client of this endpoint.
        self.conflicts = tx_conflicts.install_from_env()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        os.environ.update(FAKE_AWS)
        # The pump runs the handlers in this process: keep their logs and EMF metrics off the console.
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.aws_port, verbose=False)
        self.server.start()
        from devstack import identity
        from devstack.provision import provision

        outputs = provision(self.endpoint, region="us-east-1", prefix="event-feedback", sender=SENDER)
        env = app_environment(outputs, self.endpoint, self.port)
        os.environ.update(env)
        self.outputs, self.env = outputs, env
        if self.outbox.exists():
            shutil.rmtree(self.outbox)  # a fresh embedded AWS each run: old mail would point at nothing
        self.outbox.mkdir(parents=True)

        import boto3

        idp = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=self.endpoint)
        self.credentials = {}
        for role in ("admin", "viewer"):
            email, password = f"{role}@example.org", identity.new_password()
            identity.ensure_user(idp, outputs["UserPoolId"], email, password, role)
            self.credentials[role] = (email, password)
            (self.local / f"{role}-credentials").write_text(f"{email}\n{password}\n", encoding="utf-8")
        self.idp = idp
        self.refresh_token()

        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        from devstack.pump import Pump

        def accepted() -> list[object]:
            return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)

        self.pump = Pump(endpoint_url=self.endpoint, outputs=outputs, outbox=self.outbox, ses_messages=accepted)
        self.api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devstack.chalice_local",  # the chalice CLI, with a listen backlog that takes a burst
                "local",
                "--stage",
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-autoreload",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                **env,
                "POWERTOOLS_LOG_LEVEL": os.environ.get("EF_API_LOG_LEVEL", "INFO"),
                "POWERTOOLS_METRICS_DISABLED": "false",
            },
            stdout=subprocess.DEVNULL if self.quiet else subprocess.PIPE,
            stderr=subprocess.DEVNULL if self.quiet else subprocess.STDOUT,
        )
        if not self.quiet:
            threading.Thread(target=self._relay, args=(self.api,), daemon=True).start()
        # chalice local starts in parallel with the seeding; /health is checked once both are done.
        if self.seed:
            from chalicelib import container
            from devstack.seed import seed_demo

            self.demo = seed_demo(
                container.store(),
                self.pump,
                pseudonym_secret=env["EF_PSEUDONYM_SECRET"],
                panel_secret=env["EF_PANEL_SECRET"],
                outbox=self.outbox,
            )
        if not wait_for(f"http://127.0.0.1:{self.port}/health", 60):
            self.stop()
            raise RuntimeError("chalice local did not answer /health within 60 s")
        # The rest of the note's programme (2011 and 2012, ~860 registrations) takes longer than the start limit:
        # it is seeded after /health, in the background; the pump's loop starts once it is done (one pump user).
        target = self._seed_programme if self.seed else self.pump.run
        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def _seed_programme(self) -> None:
        from chalicelib import container
        from devstack.seed import Outbox, seed_programme

        assert self.pump is not None
        try:
            self.programme = seed_programme(
                container.store(),
                self.pump,
                container.send_queue(),
                pseudonym_secret=self.env["EF_PSEUDONYM_SECRET"],
                panel_secret=self.env["EF_PANEL_SECRET"],
                new_tokens=Outbox(self.outbox).new_tokens,
            )
            self.say(self.programme_line())
        except Exception as exc:  # the demo's 2013 event is there; say so and keep the stack up
            self.programme_failed = True
            self.say(f"  Programme:        seeding the 2011 and 2012 workshops failed ({type(exc).__name__})")
        self.pump.run(interval=2.0)

    def programme_line(self) -> str:
        p = self.programme
        assert p is not None
        years = ", ".join(f"{year}: {len(ids)} workshops" for year, ids in sorted(p.events.items()))
        return (
            f"  Programme:        seeded ({years}; {p.registrations} registrations of {p.people} people, "
            f"one year-end follow-up per year): http://127.0.0.1:{self.port}/dashboard/programme"
        )

    @staticmethod
    def _relay(process: subprocess.Popen[bytes]) -> None:
        """Print chalice local's access log with personal-link tokens and addresses masked."""
        from chalicelib.observability import mask

        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(mask(line.decode("utf-8", "replace")))
            sys.stdout.flush()

    def refresh_token(self) -> str:
        from devstack import identity

        email, password = self.credentials["admin"]
        token = identity.sign_in(self.idp, self.outputs["UserPoolClientId"], email, password)
        (self.local / "admin-token").write_text(token + "\n", encoding="utf-8")
        self.admin_token = token
        return token

    def stop(self) -> None:
        if self.pump is not None:
            self.pump.stop_event.set()
        if self.api is not None and self.api.poll() is None:
            self.api.terminate()
            try:
                self.api.wait(10)
            except subprocess.TimeoutExpired:
                self.api.kill()
        if self.server is not None:
            self.server.stop()

    def banner(self) -> None:
        base = f"http://127.0.0.1:{self.port}"
        self.say("")
        self.say("event-feedback is running locally.")
        self.say(f"  API:              {base}   (health: {base}/health)")
        self.say(f"  Embedded AWS:     {self.endpoint}  (moto: DynamoDB, SES, SQS, SNS, Cognito)")
        if getattr(self, "conflicts", None) is not None:
            from devstack import tx_conflicts

            self.say(
                f"  Conflicts:        DynamoDB transaction conflicts are emulated (EF_EMULATE_TX_CONFLICTS=1): a "
                f"transaction holds its items {tx_conflicts.duration() * 1000:.0f} ms"
            )
        self.say(
            f"  Admin token:      {self.local / 'admin-token'}   (Authorization: Bearer $(cat .local/admin-token))"
        )
        self.say(
            f"  Admin sign-in:    {self.local / 'admin-credentials'}   (viewer: {self.local / 'viewer-credentials'})"
        )
        self.say(f"  Outbox:           {self.outbox}/   (every email SES accepted, as .eml)")
        if self.demo is not None:
            d = self.demo
            self.say(
                f"  Demo event:       {d.event_id}, wave {d.wave_id}: {d.participants} participants, "
                f"{d.answered} answered"
            )
            if d.open_link_token:
                # A link is a participant's credential: it goes to a file under .local/, never to the console.
                link_file = self.local / "demo-link"
                link_file.write_text(f"{base}/s/{d.open_link_token}\n", encoding="utf-8")
                self.say(f"  Answer as a participant (still open): the link in {link_file}")
            self.say(
                f'  Impact summary:   curl -H "Authorization: Bearer $(cat .local/admin-token)" '
                f"'{base}/admin/events/{d.event_id}/summary?wave={d.wave_id}&by=stakeholder_group'"
            )
        if self.seed and self.programme is not None:
            self.say(self.programme_line())
        elif self.seed and not self.programme_failed:
            self.say(
                "  Programme:        the 2011 and 2012 workshops are still being seeded in the background; "
                "a line here says when they are done (mail is sent from then on)"
            )
        self.say("Press Ctrl-C to stop.")


def main() -> int:
    LOCAL.mkdir(exist_ok=True)
    stack = LocalStack(
        aws_port=int(os.environ.get("AWS_PORT", "5000")),
        port=int(os.environ.get("PORT", "8000")),
        seed=os.environ.get("SEED", "1") != "0",
    )
    started = time.monotonic()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stack.start()
        stack.say(f"Ready in {time.monotonic() - started:.1f} s.")
        stack.banner()
        last_refresh = time.monotonic()
        while not stop.wait(5):
            if time.monotonic() - last_refresh > 1800:  # tokens live an hour; keep the file valid
                stack.refresh_token()
                last_refresh = time.monotonic()
    except KeyboardInterrupt:
        pass
    finally:
        stack.say("Stopping...")
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
