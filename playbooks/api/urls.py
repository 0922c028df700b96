"""API routes, the OpenAPI schema and its docs page (served from our static files, no CDN)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from playbooks.api import views, webhook_endpoints

router = DefaultRouter(use_regex_path=False)  # ids are path converters: <int:pk>
router.include_format_suffixes = False
router.register("playbooks", views.PlaybookViewSet, basename="playbook")
router.register("clients", views.ClientAccountViewSet, basename="client")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("updates", views.UpdateViewSet, basename="update")
router.register("messages", views.MessageViewSet, basename="message")
router.register("webhook-endpoints", webhook_endpoints.WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("follow-ups", views.FollowUpViewSet, basename="follow-up")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("leadership/", views.LeadershipView.as_view(), name="api-leadership"),
    path("playbooks/schema.json", views.playbook_file_schema, name="api-playbook-schema"),
    path("", include(router.urls)),
    re_path(r"^(?P<path>[\s\S]*)$", views.not_found),
]
