"""Provider webhooks, mounted under /hooks/ (Twilio signs the exact public URL: keep these paths)."""

from django.urls import path

from . import webhooks

urlpatterns = [
    path("twilio/status/", webhooks.twilio_status, name="twilio-status"),
    path("twilio/inbound/", webhooks.twilio_inbound, name="twilio-inbound"),
    path("sendgrid/events/", webhooks.sendgrid_events, name="sendgrid-events"),
    path("sendgrid/inbound/<str:secret>/", webhooks.sendgrid_inbound, name="sendgrid-inbound"),
]
