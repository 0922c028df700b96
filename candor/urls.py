"""Candor's URL map: health and metrics, the console, members' settings, the API, client pages, provider
webhooks and the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("comms.monitoring.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("playbooks.api.urls")),
    path("hooks/", include("comms.urls")),
    path("alerts/", include("playbooks.alerts.urls")),
    path("p/", include("comms.preferences_urls")),
    path("", include("playbooks.status_pages.urls")),
    path("", include("playbooks.surveys.urls")),
    path("", include("playbooks.debriefs.urls")),
    path("", include("playbooks.leadership.urls")),
    path("", include("playbooks.editor.urls")),
    path("", include("accounts.urls")),
    path("", include("playbooks.console.urls")),
]
