"""Names that Chalice needs when it *packages* the app (event sources), not when it runs.

They are read at import because decorators need them; run-time settings are in ``settings.py``.
Override at deploy time with the environment variables below when the infra stack's ResourcePrefix
is not ``event-feedback``.
"""

import os

SEND_QUEUE = os.environ.get("EF_SEND_QUEUE_NAME", "event-feedback-send")
# The SES feedback topic delivers to this queue (infra/template.json), whose messages trigger ses_feedback.
FEEDBACK_QUEUE = os.environ.get("EF_FEEDBACK_QUEUE_NAME", "event-feedback-ses-feedback")
SCHEDULE = "rate(5 minutes)"
