"""Routes of the integrations page."""

from django.urls import path

from playbooks.integrations import views

urlpatterns = [
    path("integrations/", views.integrations_view, name="integrations"),
    path("integrations/deliveries/<int:pk>/retry/", views.webhook_delivery_retry_view, name="webhook_delivery_retry"),
]
