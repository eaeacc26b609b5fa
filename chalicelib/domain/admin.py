"""Until the dashboard package lands: the names it still imports from here, now in their own modules."""

from chalicelib.domain.events import create_event, event_view, update_event
from chalicelib.domain.planning import ImportReport, import_participants, participant_zone, plan_wave
from chalicelib.domain.reports import export_csv, panel, programme, recount_wave, report_data, summarize
from chalicelib.domain.waves import create_wave, participants_view, send_now, unconfirmed_sends, wave_view

__all__ = [
    "ImportReport",
    "create_event",
    "create_wave",
    "event_view",
    "export_csv",
    "import_participants",
    "panel",
    "participant_zone",
    "participants_view",
    "plan_wave",
    "programme",
    "recount_wave",
    "report_data",
    "send_now",
    "summarize",
    "unconfirmed_sends",
    "update_event",
    "wave_view",
]
