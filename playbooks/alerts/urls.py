"""Monitoring alerts: the inbound endpoint, and the commander's decision on an alert."""

from django.urls import path

from playbooks.alerts import views

urlpatterns = [
    path("alerts/<uuid:endpoint_id>/", views.alert_receive_view, name="alert_receive"),
    path("monitoring-alerts/<int:pk>/<str:decision>/", views.alert_decide, name="alert_decide"),
]
