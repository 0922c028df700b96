"""Admin for outgoing webhook endpoints (with their deliveries and attempts, failed ones retried
by hand) and team channels (Slack, Teams). Endpoints are saved through the same service as the
API, so the HTTPS rule and the event catalogue hold here too."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy

from accounts.admin import OrganizationScopedAdmin, ReadOnlyAdmin
from comms.models import TeamChannel, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from comms.outgoing_webhooks.services import (
    webhook_delivery_retry,
    webhook_endpoint_rotate_secret,
    webhook_secret_generate,
    webhook_url_problem,
)
from playbooks.integrations.events import EVENT_TYPES


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=1000, assume_scheme="https", help_text="HTTPS.")
    event_types = forms.MultipleChoiceField(
        choices=[(name, format_lazy("{}: {}", name, description)) for name, description in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked sends every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "name", "url", "event_types", "is_active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        problem = webhook_url_problem(url)
        if problem:
            raise ValidationError(problem)
        return url


class AttemptInline(admin.TabularInline):
    model = WebhookDeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["started_at", "status_code", "outcome", "error", "duration_ms", "response_body"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "organization", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = ["secret", "created_at"]
    actions = ["rotate_secret"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.secret = webhook_secret_generate()
        obj.event_types = sorted(obj.event_types or [])
        super().save_model(request, obj, form, change)

    @admin.action(description="Give the selected endpoints a new secret")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            webhook_endpoint_rotate_secret(endpoint=endpoint)
        messages.success(request, f"New secrets for {queryset.count()} endpoints; share them with the receivers.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    organization_path = "endpoint__organization"
    list_display = ["event_type", "endpoint", "status", "attempts", "last_status_code", "last_error", "created_at"]
    list_filter = ["status", "event_type"]
    inlines = [AttemptInline]
    actions = ["retry"]

    @admin.action(description="Send the selected failed deliveries again")
    def retry(self, request, queryset):
        retried = sum(webhook_delivery_retry(delivery=delivery) for delivery in queryset)
        messages.success(request, f"{retried} deliveries queued again.")

    def has_change_permission(self, request, obj=None):
        return False


class TeamChannelForm(forms.ModelForm):
    webhook_url = forms.URLField(
        max_length=1000, assume_scheme="https", help_text=TeamChannel.webhook_url.field.help_text
    )

    class Meta:
        model = TeamChannel
        fields = ["organization", "kind", "name", "webhook_url", "scope", "is_active"]


@admin.register(TeamChannel)
class TeamChannelAdmin(OrganizationScopedAdmin):
    form = TeamChannelForm
    list_display = ["name", "kind", "organization", "scope", "is_active"]
    list_filter = ["kind", "is_active"]
