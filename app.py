"""event-feedback: the routing table. Blueprints carry the views and handlers; nothing else lives here."""

from chalice import Chalice

from chalicelib.api import admin, dashboard, health, middleware, participant
from chalicelib.jobs import handlers

# Logging belongs to Powertools (chalicelib/observability.py, same logger name): Chalice must not reconfigure it.
app = Chalice(app_name="event-feedback", configure_logs=False)
app.register_blueprint(middleware.bp)
app.register_blueprint(health.bp)
app.register_blueprint(participant.bp)
app.register_blueprint(admin.bp)
app.register_blueprint(dashboard.bp)
app.register_blueprint(handlers.bp)
