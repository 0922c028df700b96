"""Monitoring alerts that open incidents: the endpoints monitoring posts to (each with its own
secret, kept only as a digest) and the alerts received, grouped by fingerprint."""

import hashlib
import hmac
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organization, User
from playbooks.models.core import Incident, Playbook

__all__ = ["AlertEndpoint", "AlertStatus", "InboundAlert", "secret_digest"]


# What an alert label can name: affected clients (by name), client tags, or client countries.
SCOPE_TARGETS = ("clients", "tags", "countries")


def secret_digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class AlertEndpoint(models.Model):
    """Where one organisation's monitoring posts alerts: POST /alerts/<id>/ with a bearer secret.

    A new problem opens a draft incident from `playbook`, run by the on-duty commander, who
    confirms or dismisses it. Only the secret's SHA-256 is stored; it is shown once when set.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_endpoints")
    name = models.CharField(max_length=200, help_text="e.g. Production Alertmanager")
    secret_hash = models.CharField(max_length=64, editable=False)
    secret_hint = models.CharField(max_length=8, blank=True, editable=False, help_text="Last characters.")
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="alert_endpoints")
    on_duty_commander = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    scope_labels = models.JSONField(
        default=dict,
        blank=True,
        help_text='Which alert labels say who is affected: {"customer": "tags", "region": "countries", '
        '"client": "clients"} (clients by name). An incident opened by an alert takes its scope from them.',
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        errors = {}
        if self.organization_id is None:
            return  # the admin sets it from the staff member's organisation, then validates again
        if self.playbook_id and self.playbook.organization_id != self.organization_id:
            errors["playbook"] = _("The playbook must belong to the organisation.")
        if self.on_duty_commander_id and not self.on_duty_commander.can_run_incidents_of(self.organization_id):
            errors["on_duty_commander"] = _("The on-duty commander must be a commander or admin of the organisation.")
        labels = self.scope_labels
        if not isinstance(labels, dict) or not all(
            isinstance(label, str) and label.strip() and target in SCOPE_TARGETS for label, target in labels.items()
        ):
            errors["scope_labels"] = (
                'Map label names to "clients", "tags" or "countries", e.g. {"customer": "tags", "region": "countries"}.'
            )
        if errors:
            raise ValidationError(errors)

    def set_secret(self):
        """Make a new secret, keep only its digest, and return it (the only time it is seen)."""
        secret = "cnd_" + secrets.token_urlsafe(32)
        self.secret_hash = secret_digest(secret)
        self.secret_hint = secret[-4:]
        self.secret_rotated_at = timezone.now()
        return secret

    def check_secret(self, secret):
        """Constant-time comparison of a presented secret with the stored digest."""
        if not secret or not self.secret_hash:
            return False
        return hmac.compare_digest(secret_digest(secret), self.secret_hash)


class AlertStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Waiting for the commander")
    CONFIRMED = "confirmed", gettext_lazy("Confirmed: incident activated")
    DISMISSED = "dismissed", gettext_lazy("Dismissed: draft cancelled")
    RESOLVED = "resolved", gettext_lazy("Resolved by monitoring before anyone decided")


class InboundAlert(models.Model):
    """One problem reported by monitoring, however many times it was posted (`count`)."""

    endpoint = models.ForeignKey(AlertEndpoint, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    severity = models.PositiveSmallIntegerField(null=True, blank=True)
    summary = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=AlertStatus.choices, default=AlertStatus.PENDING)
    is_firing = models.BooleanField(default=True, help_text="What monitoring said last.")
    first_received_at = models.DateTimeField(default=timezone.now)
    last_received_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When monitoring reported it resolved.")
    count = models.PositiveIntegerField(default=1)
    payload = models.JSONField(default=dict, blank=True, help_text="The last payload received.")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_received_at"]
        indexes = [models.Index(fields=["endpoint", "fingerprint"])]

    def __str__(self):
        return f"{self.title} ({self.status}, x{self.count})"

    @property
    def is_open(self):
        return self.status in (AlertStatus.PENDING, AlertStatus.RESOLVED)
