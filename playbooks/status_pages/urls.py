"""Client pages without login: private status pages (signed links) and public status pages."""

from django.urls import path

from candor.throttling import rate_limited
from playbooks.status_pages import views as public_views
from playbooks.status_pages.feeds import public_updates_feed

urlpatterns = [
    path("s/<str:token>/", rate_limited("client_links")(public_views.status_page), name="status-page"),
    path("s/<str:token>/confirm/", rate_limited("client_links")(public_views.status_confirm), name="status-confirm"),
    path("status/<slug:org_slug>/", public_views.public_status, name="public-status"),
    path("status/<slug:org_slug>/feed.atom", public_updates_feed, name="public-feed"),
]
