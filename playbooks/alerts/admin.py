"""Admin for alert endpoints (made and re-keyed by the alert services; the secret is shown once,
when set or rotated) and inbound alerts (confirm or dismiss)."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.admin import OrganizationScopedAdmin, ReadOnlyAdmin
from accounts.models import Role, User
from playbooks.alerts.services import (
    alert_confirm,
    alert_dismiss,
    alert_endpoint_create,
    alert_endpoint_rotate_secret,
)
from playbooks.incidents.services import TransitionRefused
from playbooks.models import AlertEndpoint, InboundAlert, Playbook


def alert_url(endpoint):
    return f"{settings.CANDOR_PUBLIC_URL}{reverse('alert_receive', args=[endpoint.pk])}"


def _show_secret(request, endpoint, secret):
    messages.warning(
        request,
        f"Secret for {endpoint.name}: {secret}. Copy it now, it is not shown again. Monitoring posts to "
        f"{alert_url(endpoint)} with the header 'Authorization: Bearer <secret>'.",
    )


@admin.register(AlertEndpoint)
class AlertEndpointAdmin(OrganizationScopedAdmin):
    list_display = [
        "name",
        "organization",
        "playbook",
        "on_duty_commander",
        "is_active",
        "secret_hint",
        "secret_rotated_at",
    ]
    list_filter = ["is_active"]
    readonly_fields = ["id", "receive_url", "secret_hint", "secret_rotated_at", "created_at"]
    actions = ["rotate_secret"]

    @admin.display(description="Endpoint URL")
    def receive_url(self, obj):
        return alert_url(obj) if obj and obj.pk else "-"

    def get_exclude(self, request, obj=None):
        return ["organization"] if request.user.organization_id else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        organization_id = request.user.organization_id
        if organization_id and db_field.name == "playbook":
            kwargs["queryset"] = Playbook.objects.filter(organization_id=organization_id, is_active=True)
        if organization_id and db_field.name == "on_duty_commander":
            kwargs["queryset"] = User.objects.filter(
                organization_id=organization_id, role__in=[Role.COMMANDER, Role.ADMIN], is_active=True
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_form(self, request, form, change):
        obj = super().save_form(request, form, change)
        if request.user.organization_id:
            obj.organization_id = request.user.organization_id
        return obj

    def save_model(self, request, obj, form, change):
        if change:
            obj.full_clean()
            super().save_model(request, obj, form, change)
            return
        # A new endpoint is made by the service, which sets its secret; the admin goes on with its row.
        endpoint, secret = alert_endpoint_create(
            organization=obj.organization,
            name=obj.name,
            playbook=obj.playbook,
            on_duty_commander=obj.on_duty_commander,
            is_active=obj.is_active,
        )
        obj.pk, obj._state.adding = endpoint.pk, False
        _show_secret(request, endpoint, secret)

    @admin.action(description="Rotate the secret (the old one stops working at once)")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            endpoint, secret = alert_endpoint_rotate_secret(endpoint=endpoint)
            _show_secret(request, endpoint, secret)


@admin.register(InboundAlert)
class InboundAlertAdmin(ReadOnlyAdmin):
    organization_path = "endpoint__organization"
    list_display = [
        "title",
        "endpoint",
        "status",
        "is_firing",
        "count",
        "first_received_at",
        "last_received_at",
        "incident",
    ]
    list_filter = ["status", "is_firing"]
    search_fields = ["title", "fingerprint"]
    actions = ["confirm", "dismiss"]

    def has_change_permission(self, request, obj=None):
        return obj is None  # the list (and its actions), never the edit form

    def _decide(self, request, queryset, service, done):
        for alert in queryset:
            try:
                service(alert=alert, actor=request.user)
                messages.success(request, f"{alert.title}: {done}.")
            except (PermissionDenied, TransitionRefused) as exc:
                messages.error(request, f"{alert.title}: {exc}")
            except ValidationError as exc:
                messages.error(request, f"{alert.title}: {' '.join(exc.messages)}")

    @admin.action(description="Confirm: activate the incident")
    def confirm(self, request, queryset):
        self._decide(request, queryset, alert_confirm, "confirmed, the incident is active")

    @admin.action(description="Dismiss: cancel the draft incident")
    def dismiss(self, request, queryset):
        self._decide(request, queryset, alert_dismiss, "dismissed")
