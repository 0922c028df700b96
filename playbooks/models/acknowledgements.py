"""The client side of an incident: what a playbook stage asks clients to confirm, and who did.

A stage's `StageAcknowledgement` is edited with the playbook and frozen into each incident's plan
(`plan["stages"][stage]["acknowledgement"]`). Publishing an update of such a stage opens one
`ClientAcknowledgement` per affected client; a contact confirms on the private status page or by
replying the keyword by SMS, and clients who have not confirmed in time are chased once.
"""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import LANGUAGE_CODES, ClientAccount, Contact
from playbooks.models.core import Incident, PlaybookStage, bump_playbook_version

__all__ = ["AcknowledgementVia", "ClientAcknowledgement", "StageAcknowledgement", "normalize_keyword"]

KEYWORD_PATTERN = re.compile(r"^[^\W\d_][\w-]{1,29}$")


def normalize_keyword(text):
    """How a keyword (or a reply) is compared: trimmed, upper case, without closing punctuation."""
    return (text or "").strip().rstrip(".!。！").strip().upper()


class StageAcknowledgement(models.Model):
    """A playbook stage asks each affected client to confirm an action, e.g. a quarantined lot.

    `texts` maps a language to {"request": the words shown and sent, "keyword": the SMS reply
    that confirms}, e.g. {"en": {"request": "Confirm you have quarantined lot 4711.",
    "keyword": "CONFIRMED"}, "de": {"request": "...", "keyword": "BESTAETIGT"}}.
    """

    stage = models.OneToOneField(PlaybookStage, on_delete=models.CASCADE, related_name="acknowledgement")
    texts = models.JSONField(
        default=dict,
        help_text='Per language: {"en": {"request": "Confirm you have quarantined lot X.", "keyword": "CONFIRMED"}}.',
    )
    chase_after_minutes = models.PositiveIntegerField(
        default=240,
        help_text="Clients who have not confirmed this long after the first update of the stage get a reminder, "
        "and their account owner is told.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="chase_after_at_least_5_minutes", condition=models.Q(chase_after_minutes__gte=5)
            )
        ]

    def __str__(self):
        return f"Acknowledgement for {self.stage}"

    def clean(self):
        from comms.models import InboundKind
        from comms.services import classify_inbound

        super().clean()
        texts = self.texts
        if not isinstance(texts, dict) or not texts:
            raise ValidationError({"texts": _("Give the request in at least one language.")})
        errors = []
        for language, words in texts.items():
            if language not in LANGUAGE_CODES:
                errors.append(f"Unknown language {language!r}.")
                continue
            if not isinstance(words, dict) or set(words) - {"request", "keyword"}:
                errors.append(f"{language}: use only request and keyword.")
                continue
            if not (words.get("request") or "").strip():
                errors.append(f"{language}: the request is empty.")
            keyword = normalize_keyword(words.get("keyword"))
            if not KEYWORD_PATTERN.match(keyword):
                errors.append(f"{language}: the keyword must be one word of letters, e.g. CONFIRMED.")
            elif classify_inbound(keyword) != InboundKind.REPLY:
                # The SMS inbox answers these itself (STOP, START, HELP...): a reply never reaches us.
                errors.append(f"{language}: {keyword} already means something by SMS (opt-out, opt-in or help).")
        if errors:
            raise ValidationError({"texts": errors})
        self.texts = {
            language: {"request": words["request"].strip(), "keyword": normalize_keyword(words["keyword"])}
            for language, words in texts.items()
        }

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        bump_playbook_version(self.stage.playbook_id)

    def delete(self, *args, **kwargs):
        playbook_id = self.stage.playbook_id
        result = super().delete(*args, **kwargs)
        bump_playbook_version(playbook_id)
        return result

    def snapshot(self):
        return {"texts": self.texts, "chase_after_minutes": self.chase_after_minutes}


class AcknowledgementVia(models.TextChoices):
    PAGE = "page", gettext_lazy("Status page")
    SMS = "sms", gettext_lazy("SMS reply")


class ClientAcknowledgement(models.Model):
    """One client's answer to one stage's request: confirmed (by whom, when, how) or pending,
    and what chasing was done. Written only by playbooks.acknowledgements.services."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="acknowledgements")
    stage = models.CharField(max_length=40)
    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="acknowledgements")
    requested_at = models.DateTimeField(default=timezone.now)
    chase_at = models.DateTimeField(help_text="When to remind the client and tell their account owner.")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_via = models.CharField(max_length=10, choices=AcknowledgementVia.choices, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "stage", "client"], name="one_acknowledgement_per_client_stage")
        ]
        indexes = [models.Index(fields=["incident", "client"])]

    def __str__(self):
        return f"{self.client} on {self.incident_id} ({self.stage}): {'confirmed' if self.is_confirmed else 'pending'}"

    @property
    def is_confirmed(self):
        return self.confirmed_at is not None
