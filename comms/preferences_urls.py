"""A contact's own pages, reached through the signed link in every message (mounted under /p/).

Emails carry `List-Unsubscribe: <.../p/<token>/unsubscribe/>`: keep that path."""

from django.urls import path

from . import preferences_views

urlpatterns = [
    path("<str:token>/", preferences_views.preferences, name="preferences"),
    path("<str:token>/unsubscribe/", preferences_views.unsubscribe, name="unsubscribe"),
]
