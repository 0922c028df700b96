"""After the crisis: the client survey (questions, invitations, answers), the follow-ups a low
score opens, and the team's internal debrief with its action items.

One `ClientSurvey` per incident is opened when it enters debriefing; it freezes the playbook's
extra questions, invites every contact who was reached by an update (`SurveyInvitation`, one per
contact, its signed link single use), reminds once and closes. A `SurveyResponse` keeps whatever
was answered (every field optional); a low score opens a `FollowUp` for the client's account owner.
The `Debrief` must be complete before the incident can close (a guard on every kind's `close`).
Written only by playbooks.debriefs.services.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import LANGUAGE_CODES, ClientAccount, Contact, User

# Incidents and playbooks are named by string: core.py imports this module for the close guard.
INCIDENT = "playbooks.Incident"
PLAYBOOK = "playbooks.Playbook"

__all__ = [
    "ClientSurvey",
    "Debrief",
    "DebriefActionItem",
    "FollowUp",
    "QuestionKind",
    "ResponseVia",
    "SurveyInvitation",
    "SurveyQuestion",
    "SurveyResponse",
    "debrief_is_complete",
]


def debrief_is_complete(incident):
    """Guard on every kind's `close`: the team's internal debrief must be marked complete."""
    return Debrief.objects.filter(incident_id=incident.pk, completed_at__isnull=False).exists()


# The parts of a debrief that Debrief.missing_for_completion() names, in the reader's language.
MISSING_PARTS = {
    "what happened": gettext_lazy("what happened"),
    "what went well": gettext_lazy("what went well"),
    "what did not go well": gettext_lazy("what did not go well"),
}


def missing_parts_words(parts):
    """The unwritten parts of a debrief, as a list in the active language."""
    return ", ".join(str(MISSING_PARTS.get(part, part)) for part in parts)


def debrief_missing(incident):
    """What the close guard still waits for, in plain words."""
    debrief = Debrief.objects.filter(incident_id=incident.pk).first()
    if debrief is None:
        return [_("a complete internal debrief (it has not been opened yet)")]
    if debrief.is_complete:
        return []
    unwritten = debrief.missing_for_completion()
    if unwritten:
        return [
            _("a complete debrief: write %(parts)s, then mark it complete") % {"parts": missing_parts_words(unwritten)}
        ]
    return [_("a complete debrief: it is written, mark it complete")]


debrief_is_complete.missing = debrief_missing


class QuestionKind(models.TextChoices):
    SCALE = "scale", gettext_lazy("Scale 1-5")
    TEXT = "text", gettext_lazy("Free text")


class SurveyQuestion(models.Model):
    """An extra question a playbook adds to the client survey, in the languages it is asked in.

    `texts` maps a language to the question, e.g. {"en": "Was the recall notice easy to act on?",
    "de": "..."}. A contact reading a language the question lacks gets the playbook's default
    language, then English.
    """

    playbook = models.ForeignKey(PLAYBOOK, on_delete=models.CASCADE, related_name="survey_questions")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=QuestionKind.choices, default=QuestionKind.SCALE)
    texts = models.JSONField(default=dict, help_text='Per language: {"en": "Was ... clear?", "de": "War ... klar?"}.')
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["playbook", "position", "id"]

    def __str__(self):
        return (self.texts or {}).get("en") or next(iter((self.texts or {}).values()), f"Question #{self.pk}")

    def clean(self):
        super().clean()
        texts = self.texts
        if not isinstance(texts, dict) or not texts:
            raise ValidationError({"texts": _("Give the question in at least one language.")})
        errors = [f"Unknown language {language!r}." for language in texts if language not in LANGUAGE_CODES]
        errors += [
            f"{language}: the question is empty."
            for language, text in texts.items()
            if not isinstance(text, str) or not text.strip()
        ]
        if errors:
            raise ValidationError({"texts": errors})
        self.texts = {language: text.strip() for language, text in texts.items()}

    def snapshot(self):
        return {"id": self.pk, "kind": self.kind, "texts": dict(self.texts)}


class ClientSurvey(models.Model):
    """The survey of one incident's clients: when it is sent, reminded and closed."""

    incident = models.OneToOneField(INCIDENT, on_delete=models.CASCADE, related_name="survey")
    send_at = models.DateTimeField(help_text="When the invitations go out.")
    questions = models.JSONField(default=list, blank=True, help_text="The playbook's extra questions, frozen.")
    invited_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True, help_text="Answers are refused from this moment.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When the closing was recorded.")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Survey of incident #{self.incident_id}"

    def is_open_at(self, moment):
        return self.invited_at is not None and (self.closes_at is None or moment < self.closes_at)


class SurveyInvitation(models.Model):
    """One contact asked to answer: on which channels, and whether they were reminded."""

    survey = models.ForeignKey(ClientSurvey, on_delete=models.CASCADE, related_name="invitations")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="survey_invitations")
    client = models.ForeignKey(ClientAccount, on_delete=models.PROTECT, related_name="+")
    language = models.CharField(max_length=8)
    channels = models.JSONField(default=list)
    invited_at = models.DateTimeField(default=timezone.now)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["survey", "contact"], name="one_survey_invitation_per_contact")]

    def __str__(self):
        return f"{self.contact} invited to {self.survey}"


class ResponseVia(models.TextChoices):
    PAGE = "page", gettext_lazy("Survey page")
    SMS = "sms", gettext_lazy("SMS reply")


SCALE = [MinValueValidator(1), MaxValueValidator(5)]


class SurveyResponse(models.Model):
    """What one contact answered. Every answer is optional; what was given is kept.

    An SMS reply "1".."5" records `csat` only; the page may still be filled in once afterwards
    (`page_submitted_at` makes the link single use).
    """

    invitation = models.OneToOneField(SurveyInvitation, on_delete=models.CASCADE, related_name="response")
    incident = models.ForeignKey(INCIDENT, on_delete=models.CASCADE, related_name="survey_responses")
    client = models.ForeignKey(ClientAccount, on_delete=models.PROTECT, related_name="survey_responses")
    csat = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=SCALE, help_text="Overall satisfaction with how the crisis was handled."
    )
    kept_informed = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=SCALE, help_text="“We kept you informed.”"
    )
    clarity = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=SCALE, help_text="Clarity of the updates."
    )
    nps = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
        help_text="Likelihood to recommend, 0-10.",
    )
    comment = models.TextField(blank=True)
    extra_answers = models.JSONField(default=dict, blank=True, help_text="{question id: 1-5 or text}.")
    csat_via = models.CharField(max_length=10, choices=ResponseVia.choices, blank=True)
    first_answered_at = models.DateTimeField(default=timezone.now)
    page_submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["first_answered_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="csat_1_to_5", condition=models.Q(csat__isnull=True) | models.Q(csat__range=(1, 5))
            ),
            models.CheckConstraint(
                name="kept_informed_1_to_5",
                condition=models.Q(kept_informed__isnull=True) | models.Q(kept_informed__range=(1, 5)),
            ),
            models.CheckConstraint(
                name="clarity_1_to_5", condition=models.Q(clarity__isnull=True) | models.Q(clarity__range=(1, 5))
            ),
            models.CheckConstraint(
                name="nps_0_to_10", condition=models.Q(nps__isnull=True) | models.Q(nps__range=(0, 10))
            ),
        ]

    def __str__(self):
        return f"Answer of {self.invitation.contact} on incident #{self.incident_id}"


class FollowUp(models.Model):
    """A low score to act on: the client's account owner calls, and notes what was done."""

    incident = models.ForeignKey(INCIDENT, on_delete=models.CASCADE, related_name="follow_ups")
    response = models.OneToOneField(SurveyResponse, on_delete=models.CASCADE, related_name="follow_up")
    client = models.ForeignKey(ClientAccount, on_delete=models.PROTECT, related_name="follow_ups")
    owner = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="follow_ups",
        help_text="The client's account owner (the commander when the client has none).",
    )
    reason = models.CharField(max_length=300)
    opened_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    close_note = models.TextField(blank=True, help_text="What was done.")

    class Meta:
        ordering = ["closed_at", "due_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="closed_follow_up_has_a_note",
                condition=models.Q(closed_at__isnull=True) | ~models.Q(close_note=""),
            )
        ]

    def __str__(self):
        return f"Follow up with {self.client} ({self.reason})"

    @property
    def is_open(self):
        return self.closed_at is None

    def is_overdue_at(self, moment):
        return self.is_open and self.due_at < moment


class Debrief(models.Model):
    """The team's look back at one incident. Closing the incident needs it complete."""

    incident = models.OneToOneField(INCIDENT, on_delete=models.CASCADE, related_name="debrief")
    what_happened = models.TextField(blank=True, help_text="Pre-filled from the timeline; edit freely.")
    went_well = models.TextField(blank=True)
    went_badly = models.TextField(blank=True, help_text="What did not go well.")
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    def __str__(self):
        return f"Debrief of incident #{self.incident_id}"

    @property
    def is_complete(self):
        return self.completed_at is not None

    def missing_for_completion(self):
        """What must still be written before the debrief can be marked complete."""
        missing = []
        if not self.what_happened.strip():
            missing.append("what happened")
        if not self.went_well.strip():
            missing.append("what went well")
        if not self.went_badly.strip():
            missing.append("what did not go well")
        return missing


class DebriefActionItem(models.Model):
    """Something to change after the incident, with an owner and a due date."""

    debrief = models.ForeignKey(Debrief, on_delete=models.CASCADE, related_name="action_items")
    description = models.CharField(max_length=500)
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="debrief_action_items")
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self):
        return self.description
