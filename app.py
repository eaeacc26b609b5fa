"""event-feedback: the routing table. Blueprints carry the views and handlers; nothing else lives here."""

from chalice import Chalice

from chalicelib.api import admin, dashboard, health, middleware, participant
from chalicelib.domain.registration import BINARY_REQUEST_TYPES
from chalicelib.jobs import handlers

# Logging belongs to Powertools (chalicelib/observability.py, same logger name): Chalice must not reconfigure it.
app = Chalice(app_name="event-feedback", configure_logs=False)
app.api.binary_types.extend(BINARY_REQUEST_TYPES)  # uploads arrive as bytes (a workbook, a Windows-1252 list)
app.register_blueprint(middleware.bp)
app.register_blueprint(health.bp)
app.register_blueprint(participant.bp)
app.register_blueprint(admin.bp)
app.register_blueprint(dashboard.bp)
app.register_blueprint(handlers.bp)
