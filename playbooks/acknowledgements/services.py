"""Client acknowledgements: a stage asks every affected client to confirm an action, contacts
confirm on their status page or by SMS keyword, and clients who stay silent are chased once.

The stage's request is frozen in the incident plan (`stage_plan(stage)["acknowledgement"]`);
publishing an update of that stage opens one `ClientAcknowledgement` per affected client and
schedules the chase (playbooks.acknowledgements.tasks). Every confirmation, reminder and escalation is on the
timeline; the rows say who confirmed, when and how, and what chasing was done.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from candor.helpers import display_name, enqueue_task
from comms.notifications import TeamNoticeWords, team_notify
from comms.rendering import (
    choose_language,
    format_local_time,
    sms_friendly,
)
from playbooks.incidents.services import timeline_record
from playbooks.incidents.topics import incident_topic
from playbooks.integrations import events as webhook_events
from playbooks.integrations.services import incident_webhook_emit, team_channel_scopes
from playbooks.models import (
    AcknowledgementVia,
    ClientAcknowledgement,
    Incident,
    TimelineKind,
    normalize_keyword,
)
from playbooks.updates.audience import audience_clients, audience_contacts, audience_of
from playbooks.updates.pipeline import READER_TOKENS, Words, batch_build, batch_queue

# The words of a reminder, per language; the request itself comes from the playbook.
REMINDER_WORDS = {
    "en": {
        "subject": "Reminder: please confirm",
        "intro": "Reminder: we have not yet received your confirmation.",
        "reply": "Reply {keyword} to confirm, or confirm on your status page:",
        "page": "Confirm on your status page:",
        "preferences": "Your contact preferences:",
    },
    "de": {
        "subject": "Erinnerung: bitte bestätigen",
        "intro": "Erinnerung: Ihre Bestätigung liegt uns noch nicht vor.",
        "reply": "Antworten Sie {keyword} oder bestätigen Sie auf Ihrer Statusseite:",
        "page": "Bestätigen Sie auf Ihrer Statusseite:",
        "preferences": "Ihre Kontakteinstellungen:",
    },
    "fr": {
        "subject": "Rappel : merci de confirmer",
        "intro": "Rappel : nous n'avons pas encore reçu votre confirmation.",
        "reply": "Répondez {keyword} pour confirmer, ou confirmez sur votre page de suivi :",
        "page": "Confirmez sur votre page de suivi :",
        "preferences": "Vos préférences de contact :",
    },
    "es": {
        "subject": "Recordatorio: confirme, por favor",
        "intro": "Recordatorio: aún no hemos recibido su confirmación.",
        "reply": "Responda {keyword} para confirmar, o confirme en su página de estado:",
        "page": "Confirme en su página de estado:",
        "preferences": "Sus preferencias de contacto:",
    },
    "pt-br": {
        "subject": "Lembrete: confirme, por favor",
        "intro": "Lembrete: ainda não recebemos a sua confirmação.",
        "reply": "Responda {keyword} para confirmar, ou confirme na sua página de status:",
        "page": "Confirme na sua página de status:",
        "preferences": "Suas preferências de contato:",
    },
    "it": {
        "subject": "Promemoria: per favore confermi",
        "intro": "Promemoria: non abbiamo ancora ricevuto la sua conferma.",
        "reply": "Risponda {keyword} per confermare, o confermi sulla sua pagina di stato:",
        "page": "Confermi sulla sua pagina di stato:",
        "preferences": "Le sue preferenze di contatto:",
    },
    "nl": {
        "subject": "Herinnering: graag bevestigen",
        "intro": "Herinnering: we hebben uw bevestiging nog niet ontvangen.",
        "reply": "Antwoord {keyword} om te bevestigen, of bevestig op uw statuspagina:",
        "page": "Bevestig op uw statuspagina:",
        "preferences": "Uw contactvoorkeuren:",
    },
    "ja": {
        "subject": "リマインダー：ご確認のお願い",
        "intro": "リマインダー：まだご確認をいただいておりません。",
        "reply": "{keyword} と返信いただくか、ステータスページでご確認ください：",
        "page": "ステータスページでご確認ください：",
        "preferences": "連絡設定：",
    },
}


def acknowledgement_config(incident, stage):
    """The frozen request of a stage ({"texts", "chase_after_minutes"}), or None."""
    return incident.stage_plan(stage).get("acknowledgement") or None


def acknowledgement_words(config, languages):
    """(language, request, keyword) of a stage's request in the first of `languages` it has."""
    texts = (config or {}).get("texts") or {}
    if not texts:
        return None, "", ""
    language = choose_language(languages, texts.keys())
    return language, texts[language]["request"], texts[language]["keyword"]


def _enqueue_chase(incident, run_after):
    from playbooks.acknowledgements.tasks import chase_acknowledgements  # the task module imports these services

    # With the database backend the task row is written in this transaction: a rolled-back
    # publish schedules nothing.
    enqueue_task(chase_acknowledgements, run_after=run_after, incident_id=incident.pk)


def acknowledgements_request(*, update, incident, at):
    """Open a request to every affected client when an update of a stage that asks for
    acknowledgement is published, and schedule its chase. Idempotent: clients already asked in
    this stage are left as they are. Runs inside update_publish's transaction."""
    config = acknowledgement_config(incident, update.stage)
    if config is None:
        return 0
    chase_at = at + dt.timedelta(minutes=config["chase_after_minutes"])
    client_ids = [client.pk for client in audience_clients(incident=incident)]
    asked = set(
        ClientAcknowledgement.objects.filter(incident=incident, stage=update.stage).values_list("client_id", flat=True)
    )
    new = [
        ClientAcknowledgement(
            incident=incident, stage=update.stage, client_id=client_id, requested_at=at, chase_at=chase_at
        )
        for client_id in client_ids
        if client_id not in asked
    ]
    ClientAcknowledgement.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        _enqueue_chase(incident, chase_at)
    return len(new)


@dataclass(frozen=True)
class Confirmation:
    acknowledgement: ClientAcknowledgement
    is_new: bool  # False: this client had already confirmed, nothing changed


def open_acknowledgement(*, incident, client_id):
    """The request this client should answer now: their latest unconfirmed one, else their latest."""
    rows = list(
        ClientAcknowledgement.objects.filter(incident=incident, client_id=client_id).order_by("-requested_at", "-id")
    )
    return next((row for row in rows if not row.is_confirmed), rows[0] if rows else None)


def acknowledgement_confirm(*, incident, contact, via, at=None):
    """A contact confirms their client's open request. Returns a Confirmation, or None when there
    is nothing to confirm (no request for this client, or the incident is over). Confirming again
    changes nothing; the first confirmation goes on the timeline."""
    at = at or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.is_final:
            return None
        rows = list(
            ClientAcknowledgement.objects.select_for_update()
            .filter(incident=incident, client_id=contact.client_id)
            .order_by("-requested_at", "-id")
        )
        row = next((row for row in rows if not row.is_confirmed), rows[0] if rows else None)
        if row is None:
            return None
        if row.is_confirmed:
            return Confirmation(row, False)
        row.confirmed_at = at
        row.confirmed_by = contact
        row.confirmed_via = via
        row.save(update_fields=["confirmed_at", "confirmed_by", "confirmed_via"])
        _language, request, _keyword = acknowledgement_words(
            acknowledgement_config(incident, row.stage), [incident.plan.get("default_language")]
        )
        how = "on the status page" if via == AcknowledgementVia.PAGE else "by SMS"
        client_name = contact.client.name
        timeline_record(
            incident=incident,
            kind=TimelineKind.CLIENT_REPLY,
            note=f"{client_name} confirmed ({contact.name}, {how}): {request}",
            data={
                "event": "acknowledged",
                "acknowledgement": row.pk,
                "client": contact.client_id,
                "contact": contact.pk,
                "via": via,
                "stage": row.stage,
            },
            at=at,
        )
        incident_webhook_emit(
            incident=incident,
            event_type=webhook_events.ACKNOWLEDGEMENT_CONFIRMED,
            source=f"acknowledgement:{row.pk}",
            data={
                "acknowledgement": {
                    "id": row.pk,
                    "stage": row.stage,
                    "client": {"id": contact.client_id, "name": client_name},
                    "contact": {"id": contact.pk, "name": contact.name},
                    "via": via,
                    "confirmed_at": at.isoformat(),
                }
            },
            at=at,
        )
    return Confirmation(row, True)


def acknowledgement_from_reply(*, incident, contact, body, at=None):
    """An SMS reply that is the keyword of the client's open request confirms it. Returns the
    Confirmation, or None when the reply is not a confirmation (it is then an ordinary reply)."""
    if contact is None:
        return None
    row = open_acknowledgement(incident=incident, client_id=contact.client_id)
    if row is None:
        return None
    config = acknowledgement_config(incident, row.stage) or {}
    keywords = {words["keyword"] for words in config.get("texts", {}).values()}
    if normalize_keyword(body) not in keywords:
        return None
    return acknowledgement_confirm(incident=incident, contact=contact, via=AcknowledgementVia.SMS, at=at)


# ---------------------------------------------------------------------------------------------
# Chasing


def acknowledgements_chase(*, incident, now):
    """Remind every client whose request is overdue and unconfirmed, and tell their account
    owner; each client is chased once (the row records it), so running again does nothing again.
    Nothing is chased once the incident is no longer live. Returns the rows chased now."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update(of=("self",)).select_related("organization").get(pk=incident.pk)
        if not incident.is_live:
            return []
        due = list(
            # Lock only the rows (an account owner may be missing: PostgreSQL locks no outer join).
            ClientAcknowledgement.objects.select_for_update(of=("self",))
            .filter(incident=incident, confirmed_at__isnull=True, reminded_at__isnull=True, chase_at__lte=now)
            .select_related("client__account_owner")
            .order_by("id")
        )
        if not due:
            return []
        reminded = _queue_reminders(incident, due)
        for row in due:
            row.reminded_at = now
            row.escalated_at = now
        ClientAcknowledgement.objects.bulk_update(due, ["reminded_at", "escalated_at"])
        timeline_record(
            incident=incident,
            kind=TimelineKind.REMINDER,
            note=f"Reminded {len(due)} client(s) who have not confirmed: {_names(row.client for row in due)} "
            f"({reminded['email']} by email, {reminded['sms']} by SMS).",
            data={
                "event": "acknowledgement_reminder",
                "acknowledgements": [row.pk for row in due],
                "clients": [row.client_id for row in due],
                **reminded,
            },
            at=now,
        )
        by_owner = defaultdict(list)
        for row in due:
            by_owner[row.client.account_owner].append(row)
        for owner, rows in by_owner.items():
            clients = _names(row.client for row in rows)
            if owner is None:
                note = f"No confirmation from {clients}, who have no account owner: follow up directly."
            else:
                note = f"No confirmation from {clients}: escalated to their account owner {display_name(owner)}" + (
                    f" ({owner.email})." if owner.email else "."
                )
            timeline_record(
                incident=incident,
                kind=TimelineKind.ESCALATION,
                note=note,
                data={
                    "event": "acknowledgement_escalation",
                    "account_owner": owner.pk if owner else None,
                    "clients": [row.client_id for row in rows],
                    "acknowledgements": [row.pk for row in rows],
                },
                at=now,
            )
            if owner is not None:
                _tell_account_owner(incident, owner, rows)
    return due


def _names(clients):
    return ", ".join(sorted(client.name for client in clients))


def _queue_reminders(incident, rows):
    """One reminder per reachable contact of each client, on each channel they accept, through the
    one message pipeline; each contact's words are those of their client's request."""
    stage_of = {row.client_id: row.stage for row in rows}
    organization = incident.organization
    status_token = READER_TOKENS["status_url"]

    def texts_of(stage):
        return (acknowledgement_config(incident, stage) or {}).get("texts") or {}

    def words_for(language, timezone_name, stage):
        words = REMINDER_WORDS.get(language, REMINDER_WORDS["en"])
        request, keyword = texts_of(stage)[language]["request"], texts_of(stage)[language]["keyword"]
        return Words(
            email_subject=f"{words['subject']} – {incident.title}",
            email_body=f"{words['intro']}\n\n{request}\n\n{words['page']} {status_token}\n\n"
            f"{organization.name}\n\n{words['preferences']} {READER_TOKENS['preferences_url']}",
            sms_body=sms_friendly(
                f"{organization.name}: {words['intro']} {request} {words['reply'].format(keyword=keyword)} {status_token}"
            ),
        )

    batch = batch_build(
        incident=incident,
        audience=audience_of(audience_contacts(client_ids=list(stage_of))),
        available_languages=lambda stage: texts_of(stage).keys(),
        words_for=words_for,
        group_of=lambda contact: stage_of[contact.client_id],
    )
    # One source per incident: a contact is never reminded twice, whatever runs again.
    batch_queue(incident=incident, source=f"ack-reminder:{incident.pk}", batch=batch, expects_link="status_url")
    return {"email": batch.count("email"), "sms": batch.count("sms")}


def _tell_account_owner(incident, owner, rows):
    """The account owner knows the client best: email (and SMS) them which clients are silent."""
    request = acknowledgement_words(
        acknowledgement_config(incident, rows[0].stage), [incident.plan.get("default_language")]
    )[1]
    names = _names(row.client for row in rows)

    def words(*, language, timezone_name):
        lines = "\n".join(
            "- "
            + _("%(client)s (asked %(asked)s)")
            % {
                "client": row.client.name,
                "asked": format_local_time(row.requested_at, language=language, timezone_name=timezone_name),
            }
            for row in rows
        )
        values = {"names": names, "number": incident.pk, "title": incident.title}
        return TeamNoticeWords(
            subject=_("Not confirmed: %(names)s (%(title)s)") % values,
            body=_("These clients of yours have not confirmed for incident #%(number)s %(title)s:") % values
            + f"\n\n{lines}\n\n"
            + _("What they were asked: %(request)s") % {"request": request}
            + "\n\n"
            + _("They have been sent a reminder; a call from you may help."),
            action=_("Call the clients who have not confirmed."),
        )

    team_notify(
        organization=incident.organization,
        users=[owner],
        topic=incident_topic(incident),
        # One alert per owner and chase: the first row chased now names it.
        source=f"ack-escalation:{incident.pk}:{owner.pk}:{rows[0].pk}",
        words=words,
        link=f"{settings.CANDOR_PUBLIC_URL}/incidents/{incident.pk}/",
        scopes=team_channel_scopes(incident),
    )


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class AcknowledgementStatus:
    """One client's answer to one stage's request, for the commander."""

    acknowledgement_id: int
    client_id: int
    client_name: str
    stage: str
    request: str
    requested_at: dt.datetime
    confirmed_at: dt.datetime | None
    confirmed_by: str  # the contact's name, "" while pending
    confirmed_via: str  # "page" or "sms", "" while pending
    reminded_at: dt.datetime | None
    escalated_at: dt.datetime | None

    @property
    def is_confirmed(self):
        return self.confirmed_at is not None


def acknowledgement_status(*, incident):
    """Per client and requesting stage: confirmed by whom, when and how, or pending (and
    whether it was chased). Pending first, then by client name. The caller has scoped the
    incident to the user's organisation (playbooks.incidents.selectors.incident_get)."""
    rows = ClientAcknowledgement.objects.filter(incident=incident).select_related("client", "confirmed_by")
    statuses = [
        AcknowledgementStatus(
            acknowledgement_id=row.pk,
            client_id=row.client_id,
            client_name=row.client.name,
            stage=row.stage,
            request=acknowledgement_words(
                acknowledgement_config(incident, row.stage), [incident.plan.get("default_language")]
            )[1],
            requested_at=row.requested_at,
            confirmed_at=row.confirmed_at,
            confirmed_by=row.confirmed_by.name if row.confirmed_by else "",
            confirmed_via=row.confirmed_via,
            reminded_at=row.reminded_at,
            escalated_at=row.escalated_at,
        )
        for row in rows
    ]
    return sorted(statuses, key=lambda status: (status.is_confirmed, status.client_name.lower(), status.requested_at))
