"""After the crisis, for the team: the follow-ups a low survey score opens, and the internal debrief.

The debrief is opened when an incident enters debriefing (playbooks.handlers), its "what happened"
pre-filled from the timeline; closing the incident needs it complete.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from candor.helpers import display_name
from comms.notifications import TeamNoticeWords, team_notify
from comms.rendering import format_local_time
from playbooks.incidents.services import timeline_record
from playbooks.incidents.topics import incident_topic
from playbooks.integrations.services import team_channel_scopes
from playbooks.models import (
    Debrief,
    DebriefActionItem,
    FollowUp,
    Incident,
    TimelineEntry,
    TimelineKind,
)
from playbooks.models.debriefs import missing_parts_words

# ---------------------------------------------------------------------------------------------
# Follow-ups


def low_score_reasons(response):
    reasons = []
    if response.csat is not None and response.csat <= settings.CANDOR_FOLLOWUP_CSAT_MAX:
        reasons.append(f"satisfaction {response.csat}/5")
    if response.nps is not None and response.nps <= settings.CANDOR_FOLLOWUP_NPS_MAX:
        reasons.append(f"recommend {response.nps}/10")
    return reasons


def _low_score_words(response):
    """low_score_reasons in the active language, for a notice (the follow-up keeps the English)."""
    words = []
    if response.csat is not None and response.csat <= settings.CANDOR_FOLLOWUP_CSAT_MAX:
        words.append(_("satisfaction %(score)s/5") % {"score": response.csat})
    if response.nps is not None and response.nps <= settings.CANDOR_FOLLOWUP_NPS_MAX:
        words.append(_("recommend %(score)s/10") % {"score": response.nps})
    return words


def follow_up_open_if_low(*, response, now):
    """A low score opens one follow-up for the client's account owner (the commander when the
    client has none), due CANDOR_FOLLOWUP_DUE_DAYS later, and tells the owner. Returns it or None."""
    reasons = low_score_reasons(response)
    if not reasons or FollowUp.objects.filter(response=response).exists():
        return None
    incident = Incident.objects.select_related("organization", "commander").get(pk=response.incident_id)
    client = response.client
    owner = client.account_owner
    if owner is None or not owner.is_active or owner.organization_id != incident.organization_id:
        owner = incident.commander
    contact = response.invitation.contact
    follow_up = FollowUp.objects.create(
        incident=incident,
        response=response,
        client=client,
        owner=owner,
        reason=f"{contact.name} gave " + " and ".join(reasons),
        opened_at=now,
        due_at=now + dt.timedelta(days=settings.CANDOR_FOLLOWUP_DUE_DAYS),
    )
    timeline_record(
        incident=incident,
        kind=TimelineKind.NOTE,
        at=now,
        note=f"Follow-up opened for {display_name(owner)} with {client.name}: "
        f"{follow_up.reason}; due {_local(incident, follow_up.due_at)}.",
        data={"event": "follow_up_opened", "follow_up": follow_up.pk, "owner": owner.pk, "client": client.pk},
    )

    def words(*, language, timezone_name):
        said = _low_score_words(response)
        values = {
            "contact": contact.name,
            "client": client.name,
            "number": incident.pk,
            "title": incident.title,
            "reasons": ", ".join(said),
            "due": format_local_time(follow_up.due_at, language=language, timezone_name=timezone_name),
        }
        body = (
            _(
                '%(contact)s of %(client)s gave a low score in the survey about incident #%(number)s "%(title)s": '
                "%(reasons)s."
            )
            % values
        )
        if response.comment:
            body += "\n\n" + _("Their comment: %(comment)s") % {"comment": response.comment}
        body += (
            "\n\n"
            + _("Please get in touch, then close the follow-up with a note of what was done (due %(due)s):") % values
            + f"\n{settings.CANDOR_PUBLIC_URL}/follow-ups/"
        )
        return TeamNoticeWords(
            subject=_("Follow up with %(client)s: %(contact)s gave %(reasons)s")
            % {
                **values,
                "reasons": said[0]
                if len(said) == 1
                else _("%(first)s and %(second)s") % dict(zip(("first", "second"), said, strict=True)),
            },
            body=body,
            action=_("Get in touch with %(client)s, then close the follow-up with a note.") % values,
        )

    team_notify(
        organization=incident.organization,
        users=[owner],
        topic=incident_topic(incident),
        source=f"follow-up:{follow_up.pk}",
        words=words,
        link=f"{settings.CANDOR_PUBLIC_URL}/follow-ups/",
        scopes=team_channel_scopes(incident),
    )
    return follow_up


def can_close_follow_up(user, follow_up):
    """Its owner may close it; so may the organisation's commanders and admins. Leadership users
    close only their own."""
    if not (
        user and user.is_authenticated and user.is_active and user.organization_id == follow_up.incident.organization_id
    ):
        return False
    return follow_up.owner_id == user.pk or user.can_run_incidents


def follow_up_close(*, follow_up, actor, note, now=None):
    """Close a follow-up with a note of what was done."""
    now = now or timezone.now()
    note = (note or "").strip()
    with transaction.atomic():
        follow_up = (
            FollowUp.objects.select_for_update(of=("self",)).select_related("incident", "client").get(pk=follow_up.pk)
        )
        if not can_close_follow_up(actor, follow_up):
            raise PermissionDenied(_("Only the follow-up's owner, a commander or an admin may close it."))
        if not note:
            raise ValidationError(
                {"note": ValidationError(_("Say what was done before closing the follow-up."), code="required")}
            )
        if not follow_up.is_open:
            raise ValidationError(_("This follow-up is already closed."), code="closed")
        follow_up.closed_at = now
        follow_up.closed_by = actor
        follow_up.close_note = note
        follow_up.save(update_fields=["closed_at", "closed_by", "close_note"])
        timeline_record(
            incident=follow_up.incident,
            kind=TimelineKind.NOTE,
            actor=actor,
            at=now,
            note=f"Follow-up with {follow_up.client.name} closed: {note}",
            data={"event": "follow_up_closed", "follow_up": follow_up.pk},
        )
    return follow_up


# ---------------------------------------------------------------------------------------------
# The internal debrief

# Timeline kinds worth retelling in "what happened"; delivery reports and replies are too many.
RETOLD_KINDS = {
    TimelineKind.CREATED,
    TimelineKind.TRANSITION,
    TimelineKind.UPDATE_PUBLISHED,
    TimelineKind.CHECKLIST,
    TimelineKind.ESCALATION,
}


def _local(incident, moment):
    return format_local_time(moment, language="en", timezone_name=incident.organization.timezone)


def timeline_as_text(incident):
    """The incident's story so far, one line per step, in the organisation's timezone."""
    import zoneinfo

    tz = zoneinfo.ZoneInfo(incident.organization.timezone or "UTC")
    lines = []
    for entry in TimelineEntry.objects.filter(incident=incident, kind__in=RETOLD_KINDS).order_by("at", "id"):
        local = entry.at.astimezone(tz)
        if entry.kind == TimelineKind.TRANSITION:
            what = f"{entry.from_state} -> {entry.to_state}" + (f": {entry.note}" if entry.note else "")
        else:
            what = entry.note or entry.get_kind_display()
        lines.append(f"{local:%Y-%m-%d %H:%M %Z}  {what}")
    return "\n".join(lines)


def debrief_get_or_open(*, incident):
    """The incident's debrief, opened with the timeline as "what happened" if there is none yet."""
    debrief = Debrief.objects.filter(incident=incident).first()
    if debrief is not None:
        return debrief
    now = timezone.now()
    debrief, _created = Debrief.objects.get_or_create(
        incident=incident,
        defaults={"what_happened": timeline_as_text(incident), "created_at": now, "updated_at": now},
    )
    return debrief


def can_edit_debrief(user, incident):
    """Commanders, admins and communicators of the organisation, until the incident is over."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and user.can_draft_updates
        and user.organization_id == incident.organization_id
    )


def _locked_debrief(debrief, actor):
    debrief = (
        Debrief.objects.select_for_update(of=("self",)).select_related("incident__organization").get(pk=debrief.pk)
    )
    if not can_edit_debrief(actor, debrief.incident):
        raise PermissionDenied(_("Only the incident team (commanders, admins, communicators) may edit the debrief."))
    if debrief.incident.is_final:
        raise ValidationError(_("The incident is closed: its debrief can no longer change."), code="closed")
    return debrief


@transaction.atomic
def debrief_save(*, debrief, actor, what_happened, went_well, went_badly):
    """Change the debrief's words. A complete debrief must stay complete: its texts cannot be emptied."""
    debrief = _locked_debrief(debrief, actor)
    debrief.what_happened = (what_happened or "").strip()
    debrief.went_well = (went_well or "").strip()
    debrief.went_badly = (went_badly or "").strip()
    if debrief.is_complete and debrief.missing_for_completion():
        raise ValidationError(
            _("A complete debrief needs %(parts)s; reopen it to leave them empty."),
            code="complete",
            params={"parts": missing_parts_words(debrief.missing_for_completion())},
        )
    debrief.updated_at = timezone.now()
    debrief.updated_by = actor
    debrief.save()
    return debrief


@transaction.atomic
def debrief_action_add(*, debrief, actor, description, owner, due_on):
    """Add an action item with an owner (a member of the organisation) and a due date."""
    debrief = _locked_debrief(debrief, actor)
    errors = {}
    if not (description or "").strip():
        errors["description"] = ValidationError(_("Say what is to be done."), code="required")
    if owner is None or owner.organization_id != debrief.incident.organization_id or not owner.is_active:
        errors["owner"] = ValidationError(_("The owner must be an active member of the organisation."), code="invalid")
    if due_on is None:
        errors["due_on"] = ValidationError(_("Give a due date."), code="required")
    if errors:
        raise ValidationError(errors)
    return DebriefActionItem.objects.create(
        debrief=debrief, description=description.strip(), owner=owner, due_on=due_on
    )


@transaction.atomic
def debrief_action_done(*, item, actor, done=True):
    """Tick an action item off (or back on)."""
    _locked_debrief(item.debrief, actor)
    item.done_at = timezone.now() if done else None
    item.save(update_fields=["done_at"])
    return item


@transaction.atomic
def debrief_action_remove(*, item, actor):
    _locked_debrief(item.debrief, actor)
    item.delete()


@transaction.atomic
def debrief_complete(*, debrief, actor):
    """Mark the debrief complete: what happened, what went well and what did not are written.
    From then on the commander may close the incident."""
    debrief = _locked_debrief(debrief, actor)
    if debrief.is_complete:
        return debrief
    missing = debrief.missing_for_completion()
    if missing:
        raise ValidationError(
            _("Write %(parts)s before marking the debrief complete."),
            code="incomplete",
            params={"parts": missing_parts_words(missing)},
        )
    debrief.completed_at = timezone.now()
    debrief.completed_by = actor
    debrief.save(update_fields=["completed_at", "completed_by"])
    items = debrief.action_items.count()
    timeline_record(
        incident=debrief.incident,
        kind=TimelineKind.NOTE,
        actor=actor,
        at=debrief.completed_at,
        note=f"Internal debrief complete, with {items} action item(s).",
        data={"event": "debrief_completed", "debrief": debrief.pk, "action_items": items},
    )
    return debrief


@transaction.atomic
def debrief_reopen(*, debrief, actor):
    """Take the complete mark off again (the incident cannot close until it is back)."""
    debrief = _locked_debrief(debrief, actor)
    if not debrief.is_complete:
        return debrief
    debrief.completed_at = None
    debrief.completed_by = None
    debrief.save(update_fields=["completed_at", "completed_by"])
    timeline_record(
        incident=debrief.incident,
        kind=TimelineKind.NOTE,
        actor=actor,
        note="Internal debrief reopened.",
        data={"event": "debrief_reopened", "debrief": debrief.pk},
    )
    return debrief


def organization_members(*, organization):
    """Who may own an action item."""
    return User.objects.filter(organization=organization, is_active=True).order_by(
        "first_name", "last_name", "username"
    )


def follow_up_assign(*, follow_up, actor, owner, now=None):
    """Hand an open follow-up to another member of the organisation (commanders and admins), and
    tell the new owner."""
    now = now or timezone.now()
    with transaction.atomic():
        follow_up = (
            FollowUp.objects.select_for_update(of=("self",))
            .select_related("incident__organization", "client")
            .get(pk=follow_up.pk)
        )
        incident = follow_up.incident
        if not (actor and actor.is_authenticated and actor.can_run_incidents_of(incident.organization_id)):
            raise PermissionDenied(_("Only commanders and admins may hand a follow-up to someone else."))
        if owner is None or owner.organization_id != incident.organization_id or not owner.is_active:
            raise ValidationError(
                {"owner": ValidationError(_("The owner must be an active member of the organisation."), code="invalid")}
            )
        if not follow_up.is_open:
            raise ValidationError(_("This follow-up is already closed."), code="closed")
        if owner.pk == follow_up.owner_id:
            return follow_up
        follow_up.owner = owner
        follow_up.save(update_fields=["owner"])
        timeline_record(
            incident=incident,
            kind=TimelineKind.NOTE,
            actor=actor,
            at=now,
            note=f"Follow-up with {follow_up.client.name} handed to {display_name(owner)}.",
            data={"event": "follow_up_assigned", "follow_up": follow_up.pk, "owner": owner.pk},
        )

        def words(*, language, timezone_name):
            # The reason is stored with the follow-up, in English.
            values = {
                "actor": display_name(actor),
                "client": follow_up.client.name,
                "number": incident.pk,
                "title": incident.title,
                "reason": follow_up.reason,
                "due": format_local_time(follow_up.due_at, language=language, timezone_name=timezone_name),
            }
            return TeamNoticeWords(
                subject=_("Follow up with %(client)s: %(reason)s") % values,
                body=_(
                    '%(actor)s handed you a follow-up with %(client)s about incident #%(number)s "%(title)s": '
                    "%(reason)s."
                )
                % values
                + "\n\n"
                + _("Please get in touch, then close it with a note of what was done (due %(due)s):") % values
                + f"\n{settings.CANDOR_PUBLIC_URL}/follow-ups/",
            )

        team_notify(
            organization=incident.organization,
            users=[owner],
            topic=incident_topic(incident),
            source=f"follow-up:{follow_up.pk}",
            words=words,
        )
    return follow_up
