"""`chalice local`, as the CLI runs it, made to take a burst the way Lambda does.

- chalice local's server is threaded, but ``socketserver`` listens with a backlog of 5: fifty participants
  submitting at once (issue 17) would see connections reset by the development server before the app ran.
  API Gateway has no such limit, so the backlog is raised.
- Chalice keeps the request being handled on the app object (``app.current_request``). On Lambda a container
  handles one request at a time, so that is safe; in chalice local's threads, a view could read another
  request's body. Each thread gets its own, as each Lambda container has.

Nothing of the app changes.

    python -m devstack.chalice_local local --stage local --port 8000
"""

from __future__ import annotations

import sys
import threading
from typing import Any

BACKLOG = 256


def thread_local_requests() -> None:
    """``Chalice.current_request`` per thread (the bench's threads share one app too)."""
    from chalice.app import Chalice

    local = threading.local()

    def get(self: Any) -> Any:
        return getattr(local, "request", None)

    def put(self: Any, value: Any) -> None:
        local.request = value

    Chalice.current_request = property(get, put)  # type: ignore[assignment,method-assign]


def prepare() -> None:
    from chalice import local

    local.ThreadedHTTPServer.request_queue_size = BACKLOG
    thread_local_requests()


if __name__ == "__main__":
    from chalice.cli import main

    prepare()
    sys.argv[0] = "chalice"
    sys.exit(main())
