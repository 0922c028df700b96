"""A contact's own pages, reached through the signed link in every message (mounted under /p/).

Emails carry `List-Unsubscribe: <.../p/<token>/unsubscribe/>`: keep that path."""

from django.urls import path

from candor.throttling import rate_limited

from . import preferences_views

urlpatterns = [
    path("<str:token>/", rate_limited("client_links")(preferences_views.preferences), name="preferences"),
    path("<str:token>/unsubscribe/", rate_limited("client_links")(preferences_views.unsubscribe), name="unsubscribe"),
]
