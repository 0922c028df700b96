"""Inbound monitoring alerts (mounted at /alerts/)."""

from django.urls import path

from candor.throttling import rate_limited
from playbooks.alerts.views import alert_receive_view

urlpatterns = [
    # Monitoring retries a 429 (after Retry-After), so a throttled alert is delayed, never lost.
    path(
        "<uuid:endpoint_id>/",
        rate_limited("alerts", per_argument="endpoint_id")(alert_receive_view),
        name="alert_receive",
    ),
]
