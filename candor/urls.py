"""Candor's URL map: health and metrics, the console, the API, client pages, provider webhooks and the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("comms.monitoring.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("playbooks.api.urls")),
    path("hooks/", include("comms.urls")),
    path("alerts/", include("playbooks.alerts_urls")),
    path("p/", include("comms.preferences_urls")),
    path("", include("playbooks.public_urls")),
    path("", include("playbooks.debrief_urls")),
    path("", include("playbooks.urls")),
]
