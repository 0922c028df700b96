"""The commander console's routes, and logging in and out."""

from django.contrib.auth import views as auth_views
from django.urls import path

from playbooks.console import integrations, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.incident_list_view, name="incident_list"),
    path("incidents/new/", views.incident_new, name="incident_new"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/live/", views.incident_live, name="incident_live"),
    path("incidents/<int:pk>/transitions/<str:name>/", views.incident_transition_view, name="incident_transition"),
    path("incidents/<int:pk>/checklist/<int:item_pk>/complete/", views.checklist_complete, name="checklist_complete"),
    path("incidents/<int:pk>/updates/new/", views.update_new, name="update_new"),
    path("updates/<int:pk>/", views.update_detail, name="update_detail"),
    path("updates/<int:pk>/approve/", views.update_approve_view, name="update_approve"),
    path("updates/<int:pk>/publish/", views.update_publish_view, name="update_publish"),
    path("monitoring-alerts/<int:pk>/<str:decision>/", views.alert_decide, name="alert_decide"),
    path("jargon/", views.jargon_list, name="jargon_list"),
    path("jargon/<int:pk>/delete/", views.jargon_delete, name="jargon_delete"),
    path("integrations/", integrations.integrations_view, name="integrations"),
    path(
        "integrations/deliveries/<int:pk>/retry/",
        integrations.webhook_delivery_retry_view,
        name="webhook_delivery_retry",
    ),
]
