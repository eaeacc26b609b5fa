"""`chalice local`, as the CLI runs it, with a listen backlog that takes a burst.

chalice local's server is threaded, but ``socketserver`` listens with a backlog of 5: fifty participants
submitting at once (issue 17) would see connections reset by the development server before the app ever ran.
API Gateway has no such limit, so the local stack raises it; nothing else changes.

    python -m devstack.chalice_local local --stage local --port 8000
"""

from __future__ import annotations

import sys

from chalice import local
from chalice.cli import main

BACKLOG = 256

local.ThreadedHTTPServer.request_queue_size = BACKLOG

if __name__ == "__main__":
    sys.argv[0] = "chalice"
    sys.exit(main())
