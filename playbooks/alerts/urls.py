"""Inbound monitoring alerts (mounted at /alerts/)."""

from django.urls import path

from playbooks.alerts.views import alert_receive_view

urlpatterns = [
    path("<uuid:endpoint_id>/", alert_receive_view, name="alert_receive"),
]
