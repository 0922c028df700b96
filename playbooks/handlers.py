"""What comms hands back up (settings.CANDOR_COMMS_EVENT_HANDLER): onto the incident timeline, and
to the incident's commander and backup when they must act (a reply, an unreachable contact, a
burst of failures)."""

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Contact, User
from candor.helpers import display_name
from comms.notifications import TeamNoticeWords, team_notice_count
from comms.selectors import message_counts
from playbooks.acknowledgements.services import acknowledgement_from_reply, acknowledgements_request
from playbooks.debriefs.services import debrief_get_or_open
from playbooks.incidents import events
from playbooks.incidents.services import timeline_record
from playbooks.incidents.topics import incident_id_from_topic, incident_topic
from playbooks.integrations import events as webhook_events
from playbooks.integrations.services import incident_webhook_emit
from playbooks.models import Incident, TimelineKind
from playbooks.promises.services import deadline_clocks_schedule, incident_team_notify, promise_timers_schedule
from playbooks.surveys.services import survey_answer_from_sms, survey_schedule
from playbooks.updates.fanout import update_fan_out_completed

NOTES = {
    "message_failed": "{channel} to {contact} failed: {error}",
    "fallback_queued": "SMS to {contact} failed; sending the update by email instead.",
    "contact_unreachable": "{contact} could not be reached on any channel.",
    "contact_opted_out": "{contact} opted out of SMS ({reason}).",
    "client_reply": "{contact} replied: {body}",
    "team_message_failed": "Internal alert by {channel} to {user} failed: {error}",
}
FAILED = ("failed", "undelivered", "bounced")


def on_incident_event(event):
    """What the core of an incident hands up (settings.CANDOR_INCIDENT_EVENT_HANDLER), inside its
    transaction: the features built on it take their turn."""
    _send_webhook(event)
    if event.kind == events.ACTIVATED:
        deadline_clocks_schedule(incident=event.incident)
    elif event.kind == events.DEBRIEFING:
        debrief_get_or_open(incident=event.incident)
        survey_schedule(incident=event.incident)
    elif event.kind == events.UPDATE_PUBLISHED:
        acknowledgements_request(update=event.update, incident=event.incident, at=event.at)
        promise_timers_schedule(update=event.update)
    elif event.kind == events.SCOPE_CHANGED and event.update is not None:
        # Clients newly in scope are asked what the others were asked (already asked: unchanged).
        acknowledgements_request(update=event.update, incident=event.incident, at=event.at)


def _send_webhook(event):
    if event.kind == events.CREATED:
        incident_webhook_emit(
            incident=event.incident, event_type=webhook_events.INCIDENT_CREATED, source="created", at=event.at
        )
    elif event.kind == events.TRANSITIONED:
        incident_webhook_emit(
            incident=event.incident,
            event_type=webhook_events.INCIDENT_TRANSITIONED,
            source=f"transition:{event.data['entry']}",
            data={key: event.data[key] for key in ("transition", "from_state", "to_state")},
            at=event.at,
        )
    elif event.kind == events.UPDATE_PUBLISHED:
        update = event.update
        incident_webhook_emit(
            incident=event.incident,
            event_type=webhook_events.UPDATE_PUBLISHED,
            source=f"update:{update.pk}",
            data={
                "update": {
                    "id": update.pk,
                    "stage": update.stage,
                    "is_holding_statement": update.is_holding_statement,
                    "published_at": update.published_at.isoformat() if update.published_at else None,
                    "next_update_due_at": update.next_update_due_at.isoformat() if update.next_update_due_at else None,
                    "texts": update.texts,
                    "audience": update.audience,
                }
            },
            at=event.at,
        )


def on_comms_event(event):
    if event.kind == "fan_out_completed":
        update_fan_out_completed(source=event.data["source"], figures=event.data["figures"])
        return
    incident_id = incident_id_from_topic(event.topic)
    if incident_id is None:
        return
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return
    contact = Contact.objects.select_related("client").filter(pk=event.contact_id).first()
    is_auto_reply = bool(event.data.get("auto_reply"))
    if (
        event.kind == "client_reply"
        and not is_auto_reply
        and acknowledgement_from_reply(incident=incident, contact=contact, body=event.data.get("body", ""), at=event.at)
    ):
        return  # the keyword of an open request: on the timeline as a confirmation
    if (
        event.kind == "client_reply"
        and event.data.get("channel", "sms") == "sms"
        and survey_answer_from_sms(incident=incident, contact=contact, body=event.data.get("body", ""), at=event.at)
    ):
        return  # "1".."5" to an open survey invitation: on the timeline as the satisfaction answer
    who = f"{contact.name} ({contact.client.name})" if contact else event.data.get("from", "Unknown sender")
    note = NOTES.get(event.kind, event.kind).format(
        contact=who,
        channel=str(event.data.get("channel", "")).upper(),
        error=event.data.get("error", ""),
        reason=event.data.get("reason", ""),
        body=event.data.get("body", ""),
        user=_user_name(event.data.get("user")) or event.data.get("to", ""),
    )
    if event.kind == "client_reply" and event.data.get("channel") == "email":
        note = _email_reply_note(who, event.data)
    kind = TimelineKind.CLIENT_REPLY if event.kind == "client_reply" else TimelineKind.DELIVERY
    timeline_record(
        incident=incident,
        kind=kind,
        note=note,
        data={"event": event.kind, "contact": event.contact_id, "message": event.message_id, **event.data},
        at=event.at,
    )
    if not is_auto_reply:  # an out-of-office stays on the timeline and wakes nobody
        _tell_team(incident, event, who)


def _email_reply_note(who, data):
    note = f"{who} replied by email" + (" (automatic reply)" if data.get("auto_reply") else "") + ": "
    if data.get("subject"):
        note += f"[{data['subject']}] "
    note += data.get("body", "")
    if data.get("note"):
        note += f" ({data['note']})"
    return note


def _tell_team(incident, event, who):
    """Alert the commander and backup about what needs a person; the timeline has everything."""
    at = event.at or timezone.now()
    topic = incident_topic(incident)
    source = event.data.get("source", "")
    if event.kind == "client_reply":
        if _over_hourly_limit(topic, "team:reply:", at):
            return

        def reply_words(*, language, timezone_name):
            if event.data.get("channel") == "email":
                body = _("%(who)s replied by email:") % {"who": who}
            else:
                body = _("%(who)s replied by SMS:") % {"who": who}
            body += "\n\n"
            if event.data.get("subject"):
                body += _("Subject: %(subject)s") % {"subject": event.data["subject"]} + "\n\n"
            body += event.data.get("body", "") + (f"\n\n({event.data['note']})" if event.data.get("note") else "")
            return TeamNoticeWords(
                subject=_("Reply from %(who)s") % {"who": who},
                body=body,
                action=_("Read the reply and answer the client."),
            )

        incident_team_notify(
            incident=incident,
            source=f"team:reply:{event.data.get('inbound_id') or event.message_id}",
            words=reply_words,
        )
    elif event.kind == "contact_unreachable":
        if not source.startswith("update:"):
            return  # a survey that cannot reach someone needs no one woken up
        if _over_hourly_limit(topic, "team:unreachable:", at):
            return
        incident_team_notify(
            incident=incident,
            source=f"team:unreachable:{source}:{event.contact_id}",
            words=lambda *, language, timezone_name: TeamNoticeWords(
                subject=_("Could not reach %(who)s") % {"who": who},
                body=_("%(who)s could not be reached on any channel for the latest update. Consider calling them.")
                % {"who": who},
                action=_("Call %(who)s.") % {"who": who},
            ),
        )
    elif event.kind == "message_failed" and source:
        failed = sum(
            count
            for statuses in message_counts(source=source).values()
            for status, count in statuses.items()
            if status in FAILED
        )
        if failed >= settings.CANDOR_FAILURE_BURST_COUNT:
            # One alert per update: the unique (source, user, channel) makes repeats queue nothing.
            incident_team_notify(
                incident=incident,
                source=f"team:failures:{source}",
                words=lambda *, language, timezone_name: TeamNoticeWords(
                    subject=_("Messages failing: %(title)s") % {"title": incident.title},
                    body=ngettext(
                        "%(count)s message of %(source)s has failed so far.",
                        "%(count)s messages of %(source)s have failed so far.",
                        failed,
                    )
                    % {"count": failed, "source": source.replace(":", " #")}
                    + " "
                    + _("Check the delivery counts and the providers."),
                    action=_("Check the delivery counts and the providers."),
                ),
            )


def _over_hourly_limit(topic, prefix, at):
    since = at - dt.timedelta(hours=1)
    return team_notice_count(topic=topic, source_prefix=prefix, since=since) >= settings.CANDOR_TEAM_NOTICES_PER_HOUR


def _user_name(user_id):
    if not user_id:
        return ""
    user = User.objects.filter(pk=user_id).first()
    return display_name(user) if user else ""
