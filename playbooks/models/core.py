"""What happens: playbooks (the prepared plan per crisis kind), incidents and their lifecycles,
checklists with deadlines, and the append-only incident timeline.

Each crisis kind is its own django-fsm state machine: `OutageIncident`, `RecallIncident` and
`ComplianceIncident` are proxy models over one `incidents` table, so updates, messages and the
timeline point at one `Incident` while each kind keeps its own transitions in code.
"""

import copy
import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.models import ClientAccount, Organization, User, validate_language
from comms.rendering import template_problems
from playbooks.models.debriefs import debrief_is_complete  # the close guard: the internal debrief is complete


class Kind(models.TextChoices):
    OUTAGE = "outage", gettext_lazy("Service outage")
    RECALL = "recall", gettext_lazy("Product recall")
    COMPLIANCE = "compliance", gettext_lazy("Compliance / regulatory incident")


class Severity(models.IntegerChoices):
    CRITICAL = 1, gettext_lazy("SEV1 critical")
    MAJOR = 2, gettext_lazy("SEV2 major")
    MINOR = 3, gettext_lazy("SEV3 minor")
    LOW = 4, gettext_lazy("SEV4 low")


class Channel(models.TextChoices):
    EMAIL = "email", gettext_lazy("Email")
    SMS = "sms", gettext_lazy("SMS")


# Every state of every kind, with the plain words a client reads for it. The states are named
# here once: code says `State.INVESTIGATING`, the database keeps the plain value.
class State(models.TextChoices):
    DRAFT = "draft", gettext_lazy("Draft (not announced)")
    INVESTIGATING = "investigating", gettext_lazy("We are investigating")
    IDENTIFIED = "identified", gettext_lazy("We have found the cause")
    MONITORING = "monitoring", gettext_lazy("A fix is in place and we are watching it")
    RESOLVED = "resolved", gettext_lazy("Resolved")
    ASSESSING = "assessing", gettext_lazy("We are assessing the situation")
    ANNOUNCED = "announced", gettext_lazy("Recall announced")
    REMEDY_AVAILABLE = "remedy_available", gettext_lazy("A remedy is available")
    REMEDY_IN_PROGRESS = "remedy_in_progress", gettext_lazy("The remedy is under way")
    COMPLETED = "completed", gettext_lazy("Recall completed")
    AUTHORITY_NOTIFIED = "authority_notified", gettext_lazy("The authorities have been notified")
    CLIENTS_NOTIFIED = "clients_notified", gettext_lazy("Clients have been notified")
    REMEDIATING = "remediating", gettext_lazy("We are putting things right")
    DEBRIEFING = "debriefing", gettext_lazy("Reviewing what happened")
    CLOSED = "closed", gettext_lazy("Closed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


STATE_LABELS = dict(State.choices)

# The stages of each kind in their usual order; stage settings in a playbook use these names.
KIND_STATES = {
    Kind.OUTAGE: [
        State.DRAFT,
        State.INVESTIGATING,
        State.IDENTIFIED,
        State.MONITORING,
        State.RESOLVED,
        State.DEBRIEFING,
        State.CLOSED,
        State.CANCELLED,
    ],
    Kind.RECALL: [
        State.DRAFT,
        State.ASSESSING,
        State.ANNOUNCED,
        State.REMEDY_AVAILABLE,
        State.REMEDY_IN_PROGRESS,
        State.COMPLETED,
        State.DEBRIEFING,
        State.CLOSED,
        State.CANCELLED,
    ],
    Kind.COMPLIANCE: [
        State.DRAFT,
        State.ASSESSING,
        State.AUTHORITY_NOTIFIED,
        State.CLIENTS_NOTIFIED,
        State.REMEDIATING,
        State.RESOLVED,
        State.DEBRIEFING,
        State.CLOSED,
        State.CANCELLED,
    ],
}
# States in which the incident is live: updates go out and their cadence is kept.
LIVE_STATES = {
    State.INVESTIGATING,
    State.IDENTIFIED,
    State.MONITORING,
    State.ASSESSING,
    State.ANNOUNCED,
    State.REMEDY_AVAILABLE,
    State.REMEDY_IN_PROGRESS,
    State.AUTHORITY_NOTIFIED,
    State.CLIENTS_NOTIFIED,
    State.REMEDIATING,
}
# States after which the crisis is over for clients (resolution reached).
RESOLVED_STATES = {State.RESOLVED, State.COMPLETED, State.DEBRIEFING, State.CLOSED}
FINAL_STATES = {State.CLOSED, State.CANCELLED}
# The states whose update is each kind's resolution notice: it still goes out to clients.
RESOLUTION_NOTICE_STATES = {State.RESOLVED, State.COMPLETED}
# States an update can be published in: the live ones and the resolution notice.
PUBLISHABLE_STATES = LIVE_STATES | RESOLUTION_NOTICE_STATES


def bump_playbook_version(playbook_id):
    Playbook.objects.filter(pk=playbook_id).update(version=F("version") + 1, updated_at=timezone.now())


class Playbook(models.Model):
    """An organisation's prepared plan for one kind of crisis.

    Playbooks are edited freely; an incident keeps the snapshot of the version it was created
    from (`Incident.plan`), so edits never change an incident already running.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="playbooks")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=200)
    slug = models.SlugField(help_text="Stable identifier, used by the starter loader and alert rules.")
    version = models.PositiveIntegerField(default=1, editable=False)
    is_active = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    default_severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MAJOR)
    default_language = models.CharField(max_length=8, default="en", validators=[validate_language])
    audience_all_clients = models.BooleanField(
        default=False, help_text="Every client is affected unless the incident narrows it."
    )
    audience_tags = models.JSONField(default=list, blank=True, help_text="Clients with any of these tags.")
    audience_countries = models.JSONField(default=list, blank=True, help_text="Clients in these countries.")
    requires_authority_notification = models.BooleanField(
        default=True,
        help_text="Compliance: an authority must be notified before clients (assessing -> authority_notified).",
    )
    content_rules = models.JSONField(
        default=dict,
        blank=True,
        help_text='Checks on every update: {"required_phrases": [...], "banned_words": [...]}.',
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="unique_playbook_slug_per_org")]

    def __str__(self):
        return f"{self.name} (v{self.version})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            self.version = (Playbook.objects.filter(pk=self.pk).values_list("version", flat=True).first() or 0) + 1
        self.updated_at = timezone.now()
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        for field in ("audience_tags", "audience_countries"):
            value = getattr(self, field)
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValidationError({field: "Must be a list of words."})
        rules = self.content_rules or {}
        if not isinstance(rules, dict) or set(rules) - {"required_phrases", "banned_words"}:
            raise ValidationError({"content_rules": _("Only required_phrases and banned_words are allowed.")})

    def snapshot(self):
        """Everything an incident needs from this playbook, frozen at this version."""
        stages = {}
        for stage in self.stages.select_related("acknowledgement").prefetch_related("messages"):
            messages = {}
            for message in stage.messages.all():
                messages.setdefault(message.purpose, {}).setdefault(message.language, {})[message.channel] = {
                    "subject": message.subject,
                    "body": message.body,
                }
            stages[stage.stage] = {
                "cadence_minutes": stage.cadence_minutes,
                "needs_approval": stage.needs_approval,
                "auto_holding_statement": stage.auto_holding_statement,
                "messages": messages,
                # client_side.StageAcknowledgement: what clients must confirm in this stage, if anything.
                "acknowledgement": acknowledgement.snapshot()
                if (acknowledgement := getattr(stage, "acknowledgement", None))
                else None,
            }
        return {
            "playbook_id": self.pk,
            "slug": self.slug,
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "default_language": self.default_language,
            "requires_authority_notification": self.requires_authority_notification,
            "audience": {
                "all_clients": self.audience_all_clients,
                "tags": list(self.audience_tags or []),
                "countries": list(self.audience_countries or []),
            },
            "content_rules": self.content_rules or {},
            "stages": stages,
            "checklist": [item.snapshot() for item in self.checklist_items.all()],
        }


class PlaybookStage(models.Model):
    """How a playbook runs one stage of its kind's lifecycle."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="stages")
    stage = models.CharField(max_length=40, help_text="A state of the playbook's kind, e.g. investigating.")
    cadence_minutes = models.PositiveIntegerField(
        default=60, help_text="Promise the next update this many minutes after each update."
    )
    needs_approval = models.BooleanField(
        default=False, help_text="A second person must approve an update in this stage before it is published."
    )
    auto_holding_statement = models.BooleanField(
        default=False,
        help_text="When an update is overdue, publish this stage's pre-approved holding statement.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["playbook", "stage"], name="unique_stage_per_playbook"),
            models.CheckConstraint(name="cadence_at_least_5_minutes", condition=models.Q(cadence_minutes__gte=5)),
        ]

    def __str__(self):
        return f"{self.playbook.name}: {self.stage}"

    def clean(self):
        super().clean()
        if self.playbook_id and self.stage not in KIND_STATES[self.playbook.kind]:
            raise ValidationError(
                {
                    "stage": f"{self.stage!r} is not a stage of a {self.playbook.kind} playbook: "
                    f"use one of {', '.join(KIND_STATES[self.playbook.kind])}."
                }
            )

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        bump_playbook_version(self.playbook_id)


# The variables a stage message may use, in one place. Playbook authors see this list;
# a template using any other is refused where it is written (StageMessage.clean, update texts).
MESSAGE_VARIABLES = {
    "organization_name": "The organisation sending the update (us).",
    "client_name": "The client company receiving it.",
    "contact_name": "The person receiving it.",
    "incident_title": "The incident's short title.",
    "incident_summary": "The commander's summary of what happened (may be empty early on).",
    "stage": "The current stage in plain words, in the reader's language.",
    "next_update_at": "When the next update comes, in the reader's timezone and language.",
    "status_url": "The reader's private status page for this incident.",
    "preferences_url": "The reader's page to choose channels and language, or opt out.",
}


def message_template_problems(text):
    """What is wrong with a message template (syntax, unknown variables), as sentences."""
    return template_problems(text, allowed=MESSAGE_VARIABLES)


class MessagePurpose(models.TextChoices):
    UPDATE = "update", gettext_lazy("Stage update")
    HOLDING = "holding", gettext_lazy("Holding statement")


class StageMessage(models.Model):
    """The prepared words for one stage, purpose, language and channel.

    Subject and body are Django templates; the variables are documented in
    `playbooks.updates.pipeline.MESSAGE_VARIABLES`.
    """

    stage = models.ForeignKey(PlaybookStage, on_delete=models.CASCADE, related_name="messages")
    purpose = models.CharField(max_length=20, choices=MessagePurpose.choices, default=MessagePurpose.UPDATE)
    language = models.CharField(max_length=8, validators=[validate_language])
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject = models.CharField(max_length=200, blank=True, help_text="Email only.")
    body = models.TextField()
    is_untranslated = models.BooleanField(
        default=False, help_text="Copied from another language as a starting point; not yet translated."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stage", "purpose", "language", "channel"], name="unique_stage_message")
        ]

    def __str__(self):
        return f"{self.stage} {self.purpose} {self.language} {self.channel}"

    def clean(self):
        super().clean()
        errors = {}
        if self.channel == Channel.EMAIL and not self.subject:
            errors["subject"] = ["An email message needs a subject."]
        for field in ("subject", "body"):
            problems = message_template_problems(getattr(self, field))
            if problems:
                errors.setdefault(field, []).extend(problems)
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        bump_playbook_version(self.stage.playbook_id)


class ChecklistItem(models.Model):
    """A task the team must do, with a deadline counted from detection."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="checklist_items")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    due_after_hours = models.PositiveIntegerField(null=True, blank=True)
    due_after_business_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Counted in the organisation's country and timezone."
    )
    guidance = models.CharField(
        max_length=300, blank=True, help_text="The rule behind the deadline. Guidance, not legal advice."
    )
    business_calendar = models.CharField(
        max_length=2,
        blank=True,
        help_text="Whose public holidays business days skip: a country code (US for SEC, NHTSA and CPSC "
        "deadlines: the US federal calendar); empty: the organisation's country.",
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                name="checklist_deadline_in_hours_or_business_days",
                condition=~(models.Q(due_after_hours__isnull=False) & models.Q(due_after_business_days__isnull=False)),
            )
        ]

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        self.business_calendar = (self.business_calendar or "").strip().upper()
        if self.business_calendar and not re.fullmatch(r"[A-Z]{2}", self.business_calendar):
            raise ValidationError({"business_calendar": _("A two-letter country code, e.g. US; or empty.")})

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        bump_playbook_version(self.playbook_id)

    def snapshot(self):
        return {
            "title": self.title,
            "description": self.description,
            "due_after_hours": self.due_after_hours,
            "due_after_business_days": self.due_after_business_days,
            "guidance": self.guidance,
            "business_calendar": self.business_calendar,
        }


# ---------------------------------------------------------------------------------------------
# Incidents


def may_run_incident(instance, user):
    """Transition permission: commanders and admins of the incident's own organisation."""
    return bool(user and user.is_authenticated and user.can_run_incidents_of(instance.organization_id))


def has_resolution_summary(instance):
    return bool((instance.resolution_summary or "").strip())


def authority_notification_not_required(instance):
    return not instance.plan.get("requires_authority_notification", True)


has_resolution_summary.missing = lambda incident: ["a resolution summary: say how the problem was resolved"]
authority_notification_not_required.missing = lambda incident: [
    "the authority notified first (notify_authority): this playbook requires it"
]


class IncidentQuerySet(models.QuerySet):
    def live(self):
        return self.filter(state__in=LIVE_STATES)


class Incident(ConcurrentTransitionMixin, models.Model):
    """A crisis being handled with one playbook. Loaded rows come back as their kind's proxy."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="incidents")
    kind = models.CharField(max_length=20, choices=Kind.choices, editable=False)
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="incidents")
    playbook_version = models.PositiveIntegerField(editable=False)
    plan = models.JSONField(editable=False, help_text="The playbook as it was when the incident was created.")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MAJOR)
    commander = models.ForeignKey(User, on_delete=models.PROTECT, related_name="commanded_incidents")
    backup_commander = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="backed_up_incidents"
    )
    detected_at = models.DateTimeField()
    affected_clients = models.ManyToManyField(ClientAccount, blank=True, related_name="incidents")
    affected_tags = models.JSONField(default=list, blank=True)
    affected_countries = models.JSONField(default=list, blank=True)
    state = FSMField(default=State.DRAFT, protected=True)
    resolution_summary = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    next_update_due_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last published update promised the next one."
    )
    is_public = models.BooleanField(default=False, help_text="Show on the organisation's public status page.")

    objects = IncidentQuerySet.as_manager()

    class Meta:
        db_table = "incidents"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "state"])]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        kind_model = INCIDENT_MODELS.get(instance.__dict__.get("kind"))
        if cls is Incident and kind_model is not None:
            instance.__class__ = kind_model
        return instance

    def as_kind(self):
        """This incident as its kind's state machine (loaded rows already are)."""
        if type(self) is Incident:
            self.__class__ = INCIDENT_MODELS[self.kind]
        return self

    @property
    def state_label(self):
        return STATE_LABELS.get(self.state, self.state)

    @property
    def is_live(self):
        return self.state in LIVE_STATES

    @property
    def is_final(self):
        return self.state in FINAL_STATES

    def stage_plan(self, stage=None):
        """The frozen playbook settings for a stage (the current one by default)."""
        return self.plan.get("stages", {}).get(stage or self.state, {})

    def _probe(self):
        # A transition that only waits for an input its form asks for (custom "needs": the
        # resolution summary) counts as available; the service refuses it if the input is missing.
        probe = copy.copy(self)
        if not (probe.resolution_summary or "").strip():
            probe.resolution_summary = "(given on submit)"
        return probe

    def transitions_for(self, user):
        """The transitions this user may perform now, every condition met."""
        return list(self._probe().get_available_user_state_transitions(user))

    def transition_plan(self, user):
        """Every transition from the state now that this user may take, ready or not:
        [(transition, missing)], `missing` saying in plain words what it still waits for
        (empty when it can be taken now)."""
        probe = self._probe()
        plan = []
        names = dict.fromkeys(transition.name for transition in probe.get_all_state_transitions())
        for name in names:
            transition = getattr(probe, name)._django_fsm.get_transition(probe.state)
            if transition is None or not transition.has_perm(probe, user):
                continue
            plan.append((transition, transition_missing(probe, transition)))
        return plan

    def transition_missing_for(self, name):
        """What the named transition still waits for from the state now ([] when nothing, or no such step)."""
        method = getattr(self, name, None)
        transition = method._django_fsm.get_transition(self.state) if hasattr(method, "_django_fsm") else None
        return transition_missing(self, transition) if transition else []


def transition_missing(incident, transition):
    """The unmet conditions of a transition, in plain words. A condition says what it waits for
    through a `missing(incident)` attribute returning sentences; else its docstring's first line."""
    missing = []
    for condition in transition.conditions or ():
        if condition(incident):
            continue
        describe = getattr(condition, "missing", None)
        if describe is not None:
            missing.extend(describe(incident))
        else:
            words = (condition.__doc__ or condition.__name__.replace("_", " ")).strip().splitlines()[0]
            missing.append(words)
    return missing


class OutageIncident(Incident):
    """Outage: draft -> investigating -> identified -> monitoring -> resolved -> debriefing -> closed."""

    class Meta:
        proxy = True

    @transition(
        field="state",
        source=State.DRAFT,
        target=State.INVESTIGATING,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Activate: start investigating")},
    )
    def activate(self):
        self.activated_at = timezone.now()

    @transition(
        field="state",
        source=State.INVESTIGATING,
        target=State.IDENTIFIED,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Cause identified")},
    )
    def identify(self):
        pass

    @transition(
        field="state",
        source=State.IDENTIFIED,
        target=State.MONITORING,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Fix in place: monitoring")},
    )
    def monitor(self):
        pass

    @transition(
        field="state",
        source=State.MONITORING,
        target=State.INVESTIGATING,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Problem is back: investigate again")},
    )
    def reopen(self):
        pass

    @transition(
        field="state",
        source=[State.IDENTIFIED, State.MONITORING],
        target=State.RESOLVED,
        conditions=[has_resolution_summary],
        permission=may_run_incident,
        custom={"label": gettext_lazy("Resolve"), "needs": ["resolution_summary"]},
    )
    def resolve(self):
        self.resolved_at = timezone.now()

    @transition(
        field="state",
        source=State.RESOLVED,
        target=State.DEBRIEFING,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Start the debrief")},
    )
    def start_debrief(self):
        pass

    @transition(
        field="state",
        source=State.DEBRIEFING,
        target=State.CLOSED,
        conditions=[debrief_is_complete],
        permission=may_run_incident,
        custom={"label": gettext_lazy("Close")},
    )
    def close(self):
        self.closed_at = timezone.now()

    @transition(
        field="state",
        source=State.DRAFT,
        target=State.CANCELLED,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Cancel (nothing was sent)")},
    )
    def cancel(self):
        self.cancelled_at = timezone.now()


class RecallIncident(Incident):
    """Recall: draft -> assessing -> announced -> remedy_available -> remedy_in_progress -> completed
    -> debriefing -> closed."""

    class Meta:
        proxy = True

    @transition(
        field="state",
        source=State.DRAFT,
        target=State.ASSESSING,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Activate: start assessing")},
    )
    def activate(self):
        self.activated_at = timezone.now()

    @transition(
        field="state",
        source=State.ASSESSING,
        target=State.ANNOUNCED,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Announce the recall")},
    )
    def announce(self):
        pass

    @transition(
        field="state",
        source=State.ANNOUNCED,
        target=State.REMEDY_AVAILABLE,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Remedy available")},
    )
    def offer_remedy(self):
        pass

    @transition(
        field="state",
        source=State.REMEDY_AVAILABLE,
        target=State.REMEDY_IN_PROGRESS,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Remedy under way")},
    )
    def start_remedy(self):
        pass

    @transition(
        field="state",
        source=State.REMEDY_IN_PROGRESS,
        target=State.COMPLETED,
        conditions=[has_resolution_summary],
        permission=may_run_incident,
        custom={"label": gettext_lazy("Complete the recall"), "needs": ["resolution_summary"]},
    )
    def complete(self):
        self.resolved_at = timezone.now()

    @transition(
        field="state",
        source=State.COMPLETED,
        target=State.DEBRIEFING,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Start the debrief")},
    )
    def start_debrief(self):
        pass

    @transition(
        field="state",
        source=State.DEBRIEFING,
        target=State.CLOSED,
        conditions=[debrief_is_complete],
        permission=may_run_incident,
        custom={"label": gettext_lazy("Close")},
    )
    def close(self):
        self.closed_at = timezone.now()

    @transition(
        field="state",
        source=[State.DRAFT, State.ASSESSING],
        target=State.CANCELLED,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Cancel")},
    )
    def cancel(self):
        self.cancelled_at = timezone.now()


class ComplianceIncident(Incident):
    """Compliance: draft -> assessing -> authority_notified -> clients_notified -> remediating
    -> resolved -> debriefing -> closed; assessing -> clients_notified when no authority needs telling."""

    class Meta:
        proxy = True

    @transition(
        field="state",
        source=State.DRAFT,
        target=State.ASSESSING,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Activate: start assessing")},
    )
    def activate(self):
        self.activated_at = timezone.now()

    @transition(
        field="state",
        source=State.ASSESSING,
        target=State.AUTHORITY_NOTIFIED,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Authority notified")},
    )
    def notify_authority(self):
        pass

    @transition(
        field="state",
        source=State.AUTHORITY_NOTIFIED,
        target=State.CLIENTS_NOTIFIED,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Notify clients")},
    )
    @transition(
        field="state",
        source=State.ASSESSING,
        target=State.CLIENTS_NOTIFIED,
        conditions=[authority_notification_not_required],
        permission=may_run_incident,
        custom={"label": gettext_lazy("Notify clients (no authority notification needed)")},
    )
    def notify_clients(self):
        pass

    @transition(
        field="state",
        source=State.CLIENTS_NOTIFIED,
        target=State.REMEDIATING,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Start remediation")},
    )
    def remediate(self):
        pass

    @transition(
        field="state",
        source=State.REMEDIATING,
        target=State.RESOLVED,
        conditions=[has_resolution_summary],
        permission=may_run_incident,
        custom={"label": gettext_lazy("Resolve"), "needs": ["resolution_summary"]},
    )
    def resolve(self):
        self.resolved_at = timezone.now()

    @transition(
        field="state",
        source=State.RESOLVED,
        target=State.DEBRIEFING,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Start the debrief")},
    )
    def start_debrief(self):
        pass

    @transition(
        field="state",
        source=State.DEBRIEFING,
        target=State.CLOSED,
        conditions=[debrief_is_complete],
        permission=may_run_incident,
        custom={"label": gettext_lazy("Close")},
    )
    def close(self):
        self.closed_at = timezone.now()

    @transition(
        field="state",
        source=[State.DRAFT, State.ASSESSING],
        target=State.CANCELLED,
        permission=may_run_incident,
        custom={"label": gettext_lazy("Cancel")},
    )
    def cancel(self):
        self.cancelled_at = timezone.now()


INCIDENT_MODELS = {
    Kind.OUTAGE: OutageIncident,
    Kind.RECALL: RecallIncident,
    Kind.COMPLIANCE: ComplianceIncident,
}


class IncidentChecklistItem(models.Model):
    """A checklist task of one incident, with its deadline fixed from detection."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="checklist")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    guidance = models.CharField(max_length=300, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    completion_note = models.TextField(blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.title

    @property
    def is_done(self):
        return self.completed_at is not None


# ---------------------------------------------------------------------------------------------
# Updates


class UpdateImmutable(Exception):
    """A published update cannot change: publish a correction as a new update."""


class IncidentUpdate(models.Model):
    """One update to the affected clients: words per language, drafted from the playbook stage.

    `texts` maps a language to {"email_subject", "email_body", "sms_body"}, each a message
    template (variables: playbooks.updates.pipeline.MESSAGE_VARIABLES). Approval covers every language:
    changing any text after approval withdraws it.
    """

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="updates")
    stage = models.CharField(max_length=40, help_text="The incident's stage when drafted.")
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    texts = models.JSONField(default=dict)
    is_holding_statement = models.BooleanField(default=False)
    next_update_due_at = models.DateTimeField(
        null=True, blank=True, help_text="Blank: the stage's cadence from the moment of publishing."
    )
    approver = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.TextField(blank=True)
    approved_digest = models.CharField(max_length=64, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    audience = models.JSONField(default=dict, blank=True, help_text="Counts at publish time.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"Update #{self.pk} on {self.incident_id} ({self.stage})"

    @property
    def is_published(self):
        return self.published_at is not None

    @property
    def needs_approval(self):
        if self.is_holding_statement:
            return False  # holding statements are approved with the playbook
        return bool(self.incident.stage_plan(self.stage).get("needs_approval"))

    def content_digest(self):
        import hashlib
        import json

        return hashlib.sha256(json.dumps(self.texts, sort_keys=True).encode()).hexdigest()

    @property
    def is_approved(self):
        return bool(self.approved_at) and self.approved_digest == self.content_digest()

    def save(self, *args, **kwargs):
        if self.pk is not None and IncidentUpdate.objects.filter(pk=self.pk, published_at__isnull=False).exists():
            raise UpdateImmutable("A published update cannot change; publish a correction as a new update.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_published:
            raise UpdateImmutable("A published update cannot be deleted.")
        return super().delete(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Timeline


class TimelineKind(models.TextChoices):
    CREATED = "created", gettext_lazy("Incident created")
    TRANSITION = "transition", gettext_lazy("State change")
    UPDATE_PUBLISHED = "update_published", gettext_lazy("Update published")
    DELIVERY = "delivery", gettext_lazy("Delivery outcome")
    CLIENT_REPLY = "client_reply", gettext_lazy("Client reply")
    REMINDER = "reminder", gettext_lazy("Reminder")
    ESCALATION = "escalation", gettext_lazy("Escalation")
    CHECKLIST = "checklist", gettext_lazy("Checklist")
    NOTE = "note", gettext_lazy("Note")
    SCOPE = "scope", gettext_lazy("Scope changed")


class TimelineImmutable(Exception):
    """Raised on any attempt to change or remove a timeline entry."""


class TimelineQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TimelineImmutable("The incident timeline is append-only.")

    def delete(self):
        raise TimelineImmutable("The incident timeline is append-only.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise TimelineImmutable("The incident timeline is append-only.")


class TimelineEntry(models.Model):
    """One immutable line of an incident's history."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="timeline")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=TimelineKind.choices)
    from_state = models.CharField(max_length=40, blank=True)
    to_state = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = TimelineQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise TimelineImmutable("The incident timeline is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TimelineImmutable("The incident timeline is append-only.")
