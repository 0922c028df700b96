"""Kept promises: what the promise and deadline timers did, once each.

A timer may run twice (a sweep re-enqueues what a dead worker left), so every action it takes is
recorded here under a unique constraint first: the second run finds the row and does nothing.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from playbooks.models.core import Incident, IncidentChecklistItem, IncidentUpdate

__all__ = [
    "DEADLINE_ALERT_FRACTIONS",
    "DeadlineAlert",
    "DeadlineAlertKind",
    "PromiseEvent",
    "PromiseEventKind",
]


class PromiseEventKind(models.TextChoices):
    REMINDER = "reminder", gettext_lazy("Reminder before the promised time")
    HOLDING = "holding", gettext_lazy("Holding statement published at the promised time")
    ESCALATION = "escalation", gettext_lazy("Escalated to the commander and backup at the promised time")
    SECOND_ESCALATION = (
        "second_escalation",
        gettext_lazy("Escalated to the backup and leadership after the grace period"),
    )


class PromiseEvent(models.Model):
    """One action taken about the promise a published update made (its next_update_due_at)."""

    update = models.ForeignKey(IncidentUpdate, on_delete=models.PROTECT, related_name="promise_events")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="promise_events")
    kind = models.CharField(max_length=30, choices=PromiseEventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    holding_update = models.ForeignKey(
        IncidentUpdate,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The holding statement published in place of the promised update.",
    )
    notified = models.JSONField(default=list, blank=True, help_text="Ids of the users alerted.")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["update", "kind"], name="one_promise_event_per_update_and_kind")]

    def __str__(self):
        return f"{self.kind} for update #{self.update_id}"


class DeadlineAlertKind(models.TextChoices):
    HALF = "half", gettext_lazy("Half the time has passed")
    # xgettext:no-python-format
    NINETY = "ninety", gettext_lazy("90% of the time has passed")
    OVERDUE = "overdue", gettext_lazy("Overdue")


# The fraction of the time between detection and the deadline at which each alert is due.
DEADLINE_ALERT_FRACTIONS = {
    DeadlineAlertKind.HALF: 0.5,
    DeadlineAlertKind.NINETY: 0.9,
    DeadlineAlertKind.OVERDUE: 1.0,
}


class DeadlineAlert(models.Model):
    """One alert about a checklist deadline. `superseded` alerts were passed over by a later one
    (an incident activated late already at 95% gets one alert, not two)."""

    item = models.ForeignKey(IncidentChecklistItem, on_delete=models.CASCADE, related_name="deadline_alerts")
    kind = models.CharField(max_length=20, choices=DeadlineAlertKind.choices)
    at = models.DateTimeField(default=timezone.now)
    superseded = models.BooleanField(default=False)
    notified = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["item", "kind"], name="one_deadline_alert_per_item_and_kind")]

    def __str__(self):
        return f"{self.kind} for checklist item #{self.item_id}"
