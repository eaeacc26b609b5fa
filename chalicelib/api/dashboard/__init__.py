"""The dashboard: server-rendered pages for the secretariat, under ``/dashboard``, signed in with a cookie.

Every page reads the session cookie, checks its MAC and re-verifies the Cognito access token in it (so a
forged cookie and an expired token are both refused), then checks the role (``viewer`` reads, ``admin``
acts) and the ``event:<id>`` scope the way the JSON API does. Every form that changes state carries a
CSRF token bound to the session and to the action. Views only translate forms into the same use cases
the JSON API calls; the pages are plain HTML forms and work without JavaScript. Interface text is
English (the dashboard is for the secretariat), so it has no gettext strings.

The rooms: ``framework`` (the session, the ``page`` decorator, forms, rendering and the one error page),
``signin`` (the sign-in page, its challenges and sign-out), ``events`` (the events list, the event form
and the event page), ``imports``, ``waves`` (a wave, send now, remind now and the sending page),
``previews``, ``reports`` (the report, the export and the programme), ``series`` (follow-ups across
events), ``collect`` (answers at the event: the QR cards and the open link) and ``paper`` (paper forms to
print and key in). Importing them registers their pages on ``bp`` (the order does not matter: API Gateway
and ``chalice local`` match concrete paths first).
"""

from chalicelib.api.dashboard import collect, events, imports, paper, previews, reports, series, signin, waves
from chalicelib.api.dashboard.framework import bp

__all__ = ["bp", "collect", "events", "imports", "paper", "previews", "reports", "series", "signin", "waves"]
