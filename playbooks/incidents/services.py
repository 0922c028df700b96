"""Use cases that change incidents: create, transition, complete checklist items.

Each service runs in one database transaction and writes its timeline entry in it.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed, has_transition_perm

from accounts.models import Contact
from comms.models import Message
from playbooks.incidents import events
from playbooks.incidents.deadlines import checklist_due_at
from playbooks.incidents.events import IncidentEvent, incident_event_emit
from playbooks.incidents.topics import incident_topic
from playbooks.models import (
    INCIDENT_MODELS,
    RESOLUTION_NOTICE_STATES,
    STATE_LABELS,
    Incident,
    IncidentChecklistItem,
    IncidentUpdate,
    Playbook,
    State,
    TimelineEntry,
    TimelineKind,
)

UNDELIVERED_STATUSES = ("failed", "undelivered", "bounced")


class TransitionRefused(Exception):
    """A transition that cannot happen now: illegal from this state, or lost to a concurrent one.

    The message says which state the incident is in now (the API answers 409 with it).
    """

    def __init__(self, message, *, state, missing=()):
        super().__init__(message)
        self.state = state
        self.missing = list(missing)


def _ensure_can_run(actor, organization_id):
    if not (actor and actor.is_authenticated and actor.can_run_incidents_of(organization_id)):
        raise PermissionDenied(_("Only commanders and admins of this organisation may run incidents."))


def timeline_record(*, incident, kind, actor=None, note="", from_state="", to_state="", data=None, at=None):
    """Append one entry to the incident's timeline (call inside the service's transaction)."""
    return TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        actor=actor,
        note=note,
        from_state=from_state,
        to_state=to_state,
        data=data or {},
        at=at or timezone.now(),
    )


@transaction.atomic
def incident_create(
    *,
    playbook,
    actor,
    title,
    severity=None,
    summary="",
    commander=None,
    backup_commander=None,
    detected_at=None,
    affected_clients=(),
    affected_tags=(),
    affected_countries=(),
):
    """Open a draft incident from a playbook, freezing the playbook's current version into it."""
    _ensure_can_run(actor, playbook.organization_id)
    playbook = Playbook.objects.select_related("organization").get(pk=playbook.pk)
    organization = playbook.organization
    errors = {}
    if not playbook.is_active:
        errors["playbook"] = _("This playbook is not active.")
    if not (title or "").strip():
        errors["title"] = _("Give the incident a short title.")
    commander = commander or actor
    if not commander.can_run_incidents_of(organization.pk):
        errors["commander"] = _("The commander must be a commander or admin of this organisation.")
    if backup_commander is not None and (
        backup_commander == commander or not backup_commander.can_run_incidents_of(organization.pk)
    ):
        errors["backup_commander"] = _("The backup must be another commander or admin of this organisation.")
    clients = list(affected_clients)
    if any(client.organization_id != organization.pk for client in clients):
        errors["affected_clients"] = _("Affected clients must belong to this organisation.")
    now = timezone.now()
    given_detected_at, detected_at = detected_at, detected_at or now
    if detected_at > now + dt.timedelta(minutes=5):
        errors["detected_at"] = _("Detection cannot be in the future.")
    elif given_detected_at is not None and detected_at < organization.created_at - dt.timedelta(days=1):
        # A day of slack: an organisation set up in the middle of its first crisis.
        errors["detected_at"] = _("Detection cannot be before the organisation existed (%(date)s).") % {
            "date": f"{organization.created_at:%Y-%m-%d}"
        }
    elif detected_at < now - dt.timedelta(days=settings.CANDOR_DETECTION_MAX_AGE_DAYS):
        # Deadlines count from detection: a typo in the year would fire every escalation at once.
        errors["detected_at"] = _("Detection cannot be more than %(days)s days ago; check the date.") % {
            "days": settings.CANDOR_DETECTION_MAX_AGE_DAYS
        }
    if errors:
        raise ValidationError(errors)

    model = INCIDENT_MODELS[playbook.kind]
    plan = playbook.snapshot()
    incident = model.objects.create(
        organization=organization,
        kind=playbook.kind,
        playbook=playbook,
        playbook_version=plan["version"],
        plan=plan,
        title=title.strip(),
        summary=summary,
        severity=severity or playbook.default_severity,
        commander=commander,
        backup_commander=backup_commander,
        detected_at=detected_at,
        affected_tags=list(affected_tags),
        affected_countries=[country.upper() for country in affected_countries],
    )
    incident.affected_clients.set(clients)
    IncidentChecklistItem.objects.bulk_create(
        IncidentChecklistItem(
            incident=incident,
            position=position,
            title=item["title"],
            description=item["description"],
            guidance=item["guidance"],
            due_at=checklist_due_at(
                detected_at=detected_at,
                due_after_hours=item["due_after_hours"],
                due_after_business_days=item["due_after_business_days"],
                # US rules (SEC, NHTSA, CPSC) count US federal business days; the others the organisation's.
                country=item.get("business_calendar") or organization.country,
                timezone_name=organization.timezone,
            ),
        )
        for position, item in enumerate(plan["checklist"])
    )
    timeline_record(
        incident=incident,
        kind=TimelineKind.CREATED,
        actor=actor,
        to_state=incident.state,
        note=f"Created from playbook {plan['name']} v{plan['version']}.",
        data={"playbook_version": plan["version"]},
    )
    incident_event_emit(IncidentEvent(events.CREATED, incident, at=incident.created_at))
    return incident


def final_notice_missing(*, incident):
    """Why the loop with clients is not closed yet, in words, or "" when it is: every contact an
    update of this incident was sent to must have been sent a final notice (an update published in
    the resolution stage: resolved, or completed for a recall). Nothing is missing when no client
    was ever told."""
    sent = Message.objects.filter(
        organization_id=incident.organization_id,
        topic=incident_topic(incident),
        contact__isnull=False,
        source__startswith="update:",
    )
    # Told: an update was sent, or is on its way (a message that failed for good told no one).
    told = set(sent.exclude(status__in=UNDELIVERED_STATUSES).values_list("contact_id", flat=True))
    if not told:
        return ""
    final_ids = list(
        IncidentUpdate.objects.filter(
            incident=incident, published_at__isnull=False, stage__in=RESOLUTION_NOTICE_STATES
        ).values_list("pk", flat=True)
    )
    if not final_ids:
        return _(
            "no final notice yet: %(count)s contact(s) were told about this incident; publish the "
            "resolution update (the final notice) to them before the debrief."
        ) % {"count": len(told)}
    reached = set(sent.filter(source__in=[f"update:{pk}" for pk in final_ids]).values_list("contact_id", flat=True))
    missing = told - reached
    # Who can no longer be reached on any channel cannot be sent a final notice either.
    missing = {
        contact.pk
        for contact in Contact.objects.filter(pk__in=missing)
        if contact.can_receive_email or contact.can_receive_sms
    }
    if not missing:
        return ""
    names = sorted(
        f"{contact.name} ({contact.client.name})"
        for contact in Contact.objects.filter(pk__in=missing).select_related("client")
    )
    shown = ", ".join(names[:10])
    if len(names) > 10:
        shown = _("%(names)s and %(count)s more") % {"names": shown, "count": len(names) - 10}
    return _(
        "the final notice has not reached %(count)s contact(s) who were told about this incident: "
        "%(names)s. Publish the final notice again now that they are in scope."
    ) % {"count": len(missing), "names": shown}


def _step_label(method, name):
    """A transition's name as its button says it (its label), in the active language."""
    for transition in method._django_fsm.transitions.values():
        if label := (transition.custom or {}).get("label"):
            return str(label)
    return name.replace("_", " ")


def incident_transition(*, incident, name, actor, note="", resolution_summary=None):
    """Move an incident along its lifecycle, checking permission, and record it on the timeline.

    Raises PermissionDenied (not this user's to do), TransitionRefused (not possible from the
    current state, a guard failed, or another commander moved it first) or ValidationError.
    """
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        method = getattr(locked, name, None)
        if method is None or not hasattr(method, "_django_fsm"):
            raise TransitionRefused(
                _("“%(step)s” is not a step of this incident's lifecycle.") % {"step": name}, state=locked.state
            )
        if not actor.can_run_incidents_of(locked.organization_id):
            raise PermissionDenied(_("Only commanders and admins of this organisation may run incidents."))
        if resolution_summary is not None:
            locked.resolution_summary = resolution_summary.strip()
        transition = method._django_fsm.get_transition(locked.state)
        needs = (transition.custom or {}).get("needs", []) if transition else []
        if "resolution_summary" in needs and not locked.resolution_summary:
            raise ValidationError({"resolution_summary": _("Say how the problem was resolved before resolving.")})
        from_state = locked.state
        if transition and transition.target == State.DEBRIEFING and (missing := final_notice_missing(incident=locked)):
            # Clients hear that the crisis is over before the team turns to its debrief and survey.
            raise TransitionRefused(_("Cannot start the debrief: %(missing)s") % {"missing": missing}, state=from_state)
        if not has_transition_perm(method, actor):
            missing = locked.transition_missing_for(name) if transition else []
            refusal = _("“%(step)s” is not possible now: the incident is in the stage “%(state)s”.") % {
                "step": _step_label(method, name),
                "state": STATE_LABELS.get(from_state, from_state),
            }
            if missing:
                refusal += " " + _("It still needs %(missing)s.") % {
                    "missing": "; ".join(str(need) for need in missing)
                }
            raise TransitionRefused(
                refusal,
                state=from_state,
                missing=missing,
            )
        try:
            method()
            locked.save()
        except (TransitionNotAllowed, ConcurrentTransition) as exc:
            current = Incident.objects.filter(pk=locked.pk).values_list("state", flat=True).first()
            raise TransitionRefused(
                _("“%(step)s” is not possible: the incident is now in the stage “%(state)s”.")
                % {"step": _step_label(method, name), "state": STATE_LABELS.get(current, current)},
                state=current,
            ) from exc
        entry = timeline_record(
            incident=locked,
            kind=TimelineKind.TRANSITION,
            actor=actor,
            from_state=from_state,
            to_state=locked.state,
            note=note or (locked.resolution_summary if "resolution_summary" in needs else ""),
            data={"transition": name},
        )
        incident_event_emit(
            IncidentEvent(
                events.TRANSITIONED,
                locked,
                at=entry.at,
                data={"transition": name, "from_state": from_state, "to_state": locked.state, "entry": entry.pk},
            )
        )
        if from_state == State.DRAFT and locked.is_live:
            incident_event_emit(IncidentEvent(events.ACTIVATED, locked))
        if locked.state == State.DEBRIEFING:
            incident_event_emit(IncidentEvent(events.DEBRIEFING, locked))
    incident.refresh_from_db()
    return locked


@transaction.atomic
def checklist_item_complete(*, item, actor, note=""):
    """Tick a checklist item off, recording who, when and a note."""
    item = IncidentChecklistItem.objects.select_for_update(of=("self",)).select_related("incident").get(pk=item.pk)
    if not actor.can_draft_updates or actor.organization_id != item.incident.organization_id:
        raise PermissionDenied(_("Only the incident team may complete checklist items."))
    if item.incident.is_final:
        raise ValidationError(_("This incident is closed or cancelled."))
    if item.is_done:
        raise ValidationError(_("This item is already done."))
    item.completed_at = timezone.now()
    item.completed_by = actor
    item.completion_note = note
    item.save(update_fields=["completed_at", "completed_by", "completion_note"])
    timeline_record(
        incident=item.incident,
        kind=TimelineKind.CHECKLIST,
        actor=actor,
        note=f"Done: {item.title}" + (f" ({note})" if note else ""),
        data={"checklist_item": item.pk, "late": bool(item.due_at and item.completed_at > item.due_at)},
    )
    return item


@transaction.atomic
def checklist_item_reopen(*, item, actor, note=""):
    """Take the tick off a checklist item again (done by mistake, or undone since), saying why."""
    item = IncidentChecklistItem.objects.select_for_update(of=("self",)).select_related("incident").get(pk=item.pk)
    if not actor.can_draft_updates or actor.organization_id != item.incident.organization_id:
        raise PermissionDenied(_("Only the incident team may reopen checklist items."))
    if item.incident.is_final:
        raise ValidationError(_("This incident is closed or cancelled."))
    if not item.is_done:
        raise ValidationError(_("This item is not done."))
    item.completed_at = None
    item.completed_by = None
    item.completion_note = ""
    item.save(update_fields=["completed_at", "completed_by", "completion_note"])
    timeline_record(
        incident=item.incident,
        kind=TimelineKind.CHECKLIST,
        actor=actor,
        note=f"Reopened: {item.title}" + (f" ({note})" if note else ""),
        data={"checklist_item": item.pk, "reopened": True},
    )
    return item


# What incident_edit may change, with the words its timeline entry uses.
EDITABLE_FIELDS = {
    "title": "title",
    "summary": "summary",
    "severity": "severity",
    "backup_commander": "backup commander",
    "is_public": "shown on the status page",
}


@transaction.atomic
def incident_edit(*, incident, actor, **changes):
    """Change an incident's title, summary, severity, backup commander or public flag (only the
    fields given), recording what changed on the timeline. A closed or cancelled incident is kept
    as it ended."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}.")
    locked = Incident.objects.select_for_update().select_related("organization").get(pk=incident.pk)
    _ensure_can_run(actor, locked.organization_id)
    if locked.is_final:
        raise TransitionRefused(
            _("The incident is '%(state)s' (%(code)s): it can no longer change.")
            % {"state": STATE_LABELS.get(locked.state, locked.state), "code": locked.state},
            state=locked.state,
        )
    errors = {}
    if "title" in changes:
        changes["title"] = (changes["title"] or "").strip()
        if not changes["title"]:
            errors["title"] = _("Give the incident a short title.")
    backup = changes.get("backup_commander")
    if backup is not None and (
        backup.pk == locked.commander_id or not backup.can_run_incidents_of(locked.organization_id)
    ):
        errors["backup_commander"] = _("The backup must be another commander or admin of this organisation.")
    if errors:
        raise ValidationError(errors)
    changed = [name for name, value in changes.items() if getattr(locked, name) != value]
    if not changed:
        return locked
    for name in changed:
        setattr(locked, name, changes[name])
    Incident.objects.filter(pk=locked.pk).update(**{name: changes[name] for name in changed})
    timeline_record(
        incident=locked,
        kind=TimelineKind.NOTE,
        actor=actor,
        note="Edited: " + ", ".join(EDITABLE_FIELDS[name] for name in changed) + ".",
        data={"event": "incident_edited", "fields": changed},
    )
    return locked
