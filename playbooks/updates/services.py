"""Use cases of incident updates: draft from the playbook, edit, approve, preview and publish.

Publishing resolves the audience at that moment, renders each message once per (language,
timezone) group with per-recipient values left as tokens, and streams it through comms: one short
transaction commits the update, its timeline entry, the promise's timers, the fan-out record
and the first chunk of messages; workers write the rest (playbooks/updates/fanout.py). Nothing
is queued for a rolled-back publish, nothing lost or doubled for a committed one.
"""

import datetime as dt
from collections import Counter

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comms.rendering import (
    MessageTemplateError,
    apply_substitutions,
    render_text,
    sms_friendly,
    sms_size,
)
from playbooks.incidents.events import UPDATE_PUBLISHED, IncidentEvent, incident_event_emit
from playbooks.incidents.services import timeline_record
from playbooks.models import PUBLISHABLE_STATES, RESOLVED_STATES, STATE_LABELS, Incident, IncidentUpdate, TimelineKind
from playbooks.updates import fanout
from playbooks.updates.approvals import approval_request_notify
from playbooks.updates.audience import Audience, audience_clients, audience_contact_keys, audience_for
from playbooks.updates.languages import language_fallbacks
from playbooks.updates.pipeline import (
    Words,
    batch_build,
    batch_fan_out,
    batch_queue,
    message_context,
    reader_language,
    typical_reader_values,
)
from playbooks.updates.preflight import Finding, PreflightRefused, template_findings, update_findings

TEXT_FIELDS = ("email_subject", "email_body", "sms_body")


def _ensure_team(actor, incident):
    if not (
        actor
        and actor.is_authenticated
        and actor.can_draft_updates
        and actor.organization_id == incident.organization_id
    ):
        raise PermissionDenied(_("Only the incident team may draft updates."))


def _text_error(message, *, code, language, text_field="", **values):
    """A "texts" error about one language's words. Its params say which language and text field it
    concerns, so that the console puts it next to that field whatever language its words are in."""
    return ValidationError(
        {
            "texts": ValidationError(
                message, code=code, params={"language": language, "text_field": text_field, **values}
            )
        }
    )


def _stage_label(stage):
    return STATE_LABELS.get(stage, stage)


def _clean_texts(texts):
    if not isinstance(texts, dict) or not texts:
        raise ValidationError(
            {"texts": ValidationError(_("Give the update's words in at least one language."), code="required")}
        )
    cleaned = {}
    for language, fields in texts.items():
        if not isinstance(fields, dict) or set(fields) - set(TEXT_FIELDS):
            raise _text_error(
                _("%(language)s: use only %(fields)s."),
                code="unknown_field",
                language=language,
                fields=", ".join(TEXT_FIELDS),
            )
        cleaned[language] = {field: (fields.get(field) or "").strip() for field in TEXT_FIELDS}
        if not cleaned[language]["email_body"] and not cleaned[language]["sms_body"]:
            raise _text_error(
                _("%(language)s: the email body and the SMS are both empty."),
                code="empty",
                language=language,
                text_field="email_body",
            )
        if cleaned[language]["email_body"] and not cleaned[language]["email_subject"]:
            raise _text_error(
                _("%(language)s: an email needs a subject."),
                code="subject_missing",
                language=language,
                text_field="email_subject",
            )
    # Broken words are refused where they are written, naming the variable and the allowed list.
    problems = [finding.as_validation_error() for finding in template_findings(cleaned)]
    if problems:
        raise ValidationError({"texts": problems})
    return cleaned


def stage_texts(incident, stage, purpose="update"):
    """The playbook's prepared words for a stage, per language, as update texts."""
    messages = incident.stage_plan(stage).get("messages", {}).get(purpose, {})
    texts = {}
    for language, channels in messages.items():
        texts[language] = {
            "email_subject": channels.get("email", {}).get("subject", ""),
            "email_body": channels.get("email", {}).get("body", ""),
            "sms_body": channels.get("sms", {}).get("body", ""),
        }
    return texts


@transaction.atomic
def update_draft(*, incident, author, texts=None, next_update_due_at=None, is_holding_statement=False):
    """Start an update in the incident's current stage, pre-filled from the playbook."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if author is not None:
        _ensure_team(author, incident)
    if incident.state not in PUBLISHABLE_STATES:
        raise ValidationError(
            _("No updates can be drafted while the incident is in the stage “%(stage)s”."),
            code="invalid_state",
            params={"stage": _stage_label(incident.state)},
        )
    purpose = "holding" if is_holding_statement else "update"
    texts = _clean_texts(texts if texts is not None else stage_texts(incident, incident.state, purpose))
    _check_due(next_update_due_at)
    update = IncidentUpdate.objects.create(
        incident=incident,
        stage=incident.state,
        author=author,
        texts=texts,
        next_update_due_at=next_update_due_at,
        is_holding_statement=is_holding_statement,
    )
    approval_request_notify(update=update)
    return update


def _check_due(next_update_due_at):
    if next_update_due_at is None:
        return
    now = timezone.now()
    if next_update_due_at <= now:
        raise ValidationError(
            {
                "next_update_due_at": ValidationError(
                    _("The next update must be promised for a future time."), code="in_the_past"
                )
            }
        )
    if next_update_due_at > now + dt.timedelta(days=settings.CANDOR_NEXT_UPDATE_MAX_DAYS):
        raise ValidationError(
            {
                "next_update_due_at": ValidationError(
                    _("Promise the next update within %(days)s days; clients need to hear from you sooner."),
                    code="too_far",
                    params={"days": settings.CANDOR_NEXT_UPDATE_MAX_DAYS},
                )
            }
        )


def texts_merge(texts, changes):
    """The update's words with a partial edit applied: each named language gets the fields it names,
    a language given as None is removed, and every language not named stays as it is."""
    if not isinstance(changes, dict):
        raise ValidationError(
            {"texts": ValidationError(_("Give a map of language to the fields to change."), code="invalid")}
        )
    merged = {language: dict(fields) for language, fields in texts.items()}
    for language, fields in changes.items():
        if fields is None:
            if language not in merged:
                raise _text_error(
                    _("%(language)s: the update has no words in this language to remove."),
                    code="no_such_language",
                    language=language,
                )
            del merged[language]
        elif isinstance(fields, dict):
            merged[language] = {**merged.get(language, {}), **fields}
        else:
            raise _text_error(
                _("%(language)s: give the fields to change, or null to remove it."), code="invalid", language=language
            )
    return merged


KEEP = object()


@transaction.atomic
def update_edit(*, update, actor, texts=None, text_changes=None, next_update_due_at=KEEP):
    """Change a draft: `texts` replaces every language's words, `text_changes` changes only the
    languages and fields it names (None removes a language). Changing any words withdraws an
    approval. `next_update_due_at` is kept unless given (None clears the promise)."""
    update = IncidentUpdate.objects.select_for_update(of=("self",)).select_related("incident").get(pk=update.pk)
    _ensure_team(actor, update.incident)
    if update.is_published:
        raise ValidationError(_("This update is published; publish a correction as a new update."), code="published")
    if texts is not None:
        update.texts = _clean_texts(texts)
    if text_changes is not None:
        update.texts = _clean_texts(texts_merge(update.texts, text_changes))
    if next_update_due_at is not KEEP:
        _check_due(next_update_due_at)
        update.next_update_due_at = next_update_due_at
    update.save()
    approval_request_notify(update=update)
    return update


@transaction.atomic
def update_approve(*, update, actor, note=""):
    """A second person of the right role approves every language variant as it stands now."""
    update = IncidentUpdate.objects.select_for_update(of=("self",)).select_related("incident").get(pk=update.pk)
    incident = update.incident
    if not actor.can_run_incidents_of(incident.organization_id):
        raise PermissionDenied(_("Only commanders and admins of this organisation may approve updates."))
    if update.author_id == actor.pk:
        raise PermissionDenied(_("The author cannot approve their own update; ask another commander."))
    if update.is_published:
        raise ValidationError(_("This update is already published."), code="published")
    update.approver = actor
    update.approved_at = timezone.now()
    update.approval_note = note
    update.approved_digest = update.content_digest()
    update.save()
    timeline_record(
        incident=incident,
        kind=TimelineKind.NOTE,
        actor=actor,
        note=f"Update #{update.pk} approved" + (f": {note}" if note else "."),
        data={"update": update.pk, "approved": True},
    )
    return update


# ---------------------------------------------------------------------------------------------
# Rendering


def _language_for(contact, update, incident):
    return reader_language(incident=incident, contact=contact, available=update.texts.keys())


def _render_group(update, incident, language, timezone_name, due_at):
    context = message_context(
        organization_name=incident.organization.name,
        title=incident.title,
        summary=incident.summary,
        stage=update.stage,
        language=language,
        timezone_name=timezone_name,
        next_update_due_at=due_at,
    )
    texts = update.texts[language]
    return {
        "email_subject": render_text(texts["email_subject"], context),
        "email_body": render_text(texts["email_body"], context),
        "sms_body": sms_friendly(render_text(texts["sms_body"], context)),
    }


def promised_next_update_at(update, at):
    if update.next_update_due_at:
        return update.next_update_due_at
    if update.stage in RESOLVED_STATES:
        return None  # a resolution notice promises nothing more
    cadence = update.incident.stage_plan(update.stage).get("cadence_minutes") or 60
    return at + dt.timedelta(minutes=cadence)


def update_preview(*, update, sample_timezone=None):
    """Each language's rendered email and SMS for a sample reader, with SMS size and counts."""
    incident = update.incident
    due_at = promised_next_update_at(update, timezone.now())
    audience = audience_for(incident=incident)
    per_language = Counter()
    sms_per_language = Counter()
    for contact in audience.email:
        per_language[_language_for(contact, update, incident)] += 1
    for contact in audience.sms:
        sms_per_language[_language_for(contact, update, incident)] += 1
    previews = {}
    for language in update.texts:
        rendered = _render_group(update, incident, language, sample_timezone or incident.organization.timezone, due_at)
        sample = typical_reader_values()
        sms_body = apply_substitutions(rendered["sms_body"], sample)
        size = sms_size(sms_body) if rendered["sms_body"] else None
        previews[language] = {
            "email_subject": rendered["email_subject"],
            "email_body": rendered["email_body"],
            "sms_body": rendered["sms_body"],
            "sms_encoding": size.encoding if size else "",
            "sms_segments": size.segments if size else 0,
            "email_recipients": per_language[language],
            "sms_recipients": sms_per_language[language],
            "sms_messages": (size.segments if size else 0) * sms_per_language[language],
        }
    return {
        "next_update_due_at": due_at,
        "language_fallbacks": [
            fallback.as_dict()
            for fallback in language_fallbacks(incident=incident, contacts=audience.contacts, available=update.texts)
        ],
        "languages": previews,
        "email_recipients": len(audience.email),
        "sms_recipients": len(audience.sms),
        "sms_segments_total": sum(p["sms_messages"] for p in previews.values()),
        "unreachable": [
            {"contact": c.pk, "name": c.name, "client": c.client.name, "reason": r} for c, r in audience.unreachable
        ],
    }


# ---------------------------------------------------------------------------------------------
# Publishing


def no_audience_reason(*, incident):
    """Why nobody would receive an update of this incident because no client is in its scope, in
    words for the commander ("" when some client is). An incident opened by a monitoring alert
    whose labels named nobody says so."""
    if audience_clients(incident=incident):
        return ""
    alert = incident.alerts.select_related("endpoint").order_by("first_received_at").first()
    if alert is not None:
        return _(
            "No one will receive this: the incident was opened by an alert from %(source)s and its labels named no "
            "affected client, tag or country. Choose who is affected first."
        ) % {"source": alert.endpoint.name}
    return _("No one will receive this: no client is in the incident's scope. Choose who is affected first.")


def publish_blockers(*, update, incident):
    """Why this update cannot be published now, in words for the commander; empty when it can.
    The console shows these before its publish button; update_publish refuses on the first."""
    blockers = []
    if incident.state not in PUBLISHABLE_STATES:
        blockers.append(
            _("Updates cannot be published while the incident is in the stage “%(stage)s”.")
            % {"stage": _stage_label(incident.state)}
        )
    elif update.stage != incident.state and not update.is_holding_statement:
        blockers.append(
            _(
                "This update was drafted for the stage “%(drafted)s”; the incident is now in the stage “%(now)s”. "
                "Draft a new update."
            )
            % {"drafted": _stage_label(update.stage), "now": _stage_label(incident.state)}
        )
    if nobody := no_audience_reason(incident=incident):
        blockers.append(nobody)
    if update.needs_approval and not update.is_approved:
        blockers.append(
            _(
                "This stage needs a second commander's approval of the current words (a second person of the right "
                "role) before publishing."
            )
        )
    return blockers


def update_publish(*, update, actor):
    """Publish an update to every affected contact. Idempotent: publishing again changes nothing.

    Raises PermissionDenied, ValidationError when approval is missing, or PreflightRefused (a
    ValidationError of field errors) when the preflight finds a blocking problem in any variant
    the audience would receive, or nobody to send it to.
    """
    with transaction.atomic():
        update = IncidentUpdate.objects.select_for_update().get(pk=update.pk)
        incident = (
            Incident.objects.select_for_update(of=("self",)).select_related("organization").get(pk=update.incident_id)
        )
        if update.is_published:
            return update
        if actor is not None and not actor.can_run_incidents_of(incident.organization_id):
            raise PermissionDenied(_("Only commanders and admins of this organisation may publish updates."))
        blockers = publish_blockers(update=update, incident=incident)
        if blockers:
            # Nobody in scope is the preflight's "audience" finding, answered as that field's error.
            if blockers[0] == no_audience_reason(incident=incident):
                raise PreflightRefused([Finding("empty_audience", blockers[0], field="audience")])
            raise ValidationError(blockers[0], code="blocked")

        now = timezone.now()
        due_at = promised_next_update_at(update, now)
        update.published_at = now
        update.published_by = actor
        update.next_update_due_at = due_at
        contact_keys = audience_contact_keys(incident=incident)
        fan_out = batch_fan_out(
            incident=incident,
            source=f"update:{update.pk}",
            contact_keys=contact_keys,
            builder=fanout.BUILDER,
            inputs=fanout.update_fan_out_inputs(update=update, incident=incident, due_at=due_at),
        )
        figures = fan_out.figures
        update.audience = fanout.update_audience_figures(
            figures, contacts=len(contact_keys), complete=fan_out.is_complete
        )
        update.save()
        Incident.objects.filter(pk=incident.pk).update(next_update_due_at=due_at)
        unreachable = len(figures.get("unreachable", []))
        if fan_out.is_complete:
            reach = f"to {figures.get('email', 0)} by email and {figures.get('sms', 0)} by SMS" + (
                f"; {unreachable} contacts unreachable." if unreachable else "."
            )
        else:
            reach = f"to {len(contact_keys)} contacts; their messages are being written and sent."
        timeline_record(
            incident=incident,
            kind=TimelineKind.UPDATE_PUBLISHED,
            actor=actor,
            note=("Holding statement" if update.is_holding_statement else "Update")
            + f" #{update.pk} published "
            + reach,
            data={
                "update": update.pk,
                "next_update_due_at": due_at.isoformat() if due_at else None,
                "email": figures.get("email", 0),
                "sms": figures.get("sms", 0),
                "unreachable": unreachable,
                "contacts": len(contact_keys),
                "streamed": not fan_out.is_complete,
                "holding": update.is_holding_statement,
            },
            at=now,
        )
        # The promise's timers and the stage's acknowledgement request (promises/, acknowledgements/).
        incident_event_emit(IncidentEvent(UPDATE_PUBLISHED, incident, update=update, at=now))
    return update


def update_send_to_contacts(*, update, incident, contacts):
    """Send an already published update to more readers (`contacts`, an Audience): contacts newly
    in scope. Same words, same promise, same source: comms queues nothing for a (contact, channel)
    that already has it. An SMS too long once filled in is left out (the email still goes).
    Returns the number of messages queued."""

    def words_for(language, timezone_name, group):
        rendered = _render_group(update, incident, language, timezone_name, update.next_update_due_at)
        return Words(rendered["email_subject"], rendered["email_body"], rendered["sms_body"])

    batch = batch_build(
        incident=incident,
        audience=contacts,
        available_languages=update.texts.keys(),
        words_for=words_for,
        sms_fallback_to_email=True,
    )
    return batch_queue(incident=incident, source=f"update:{update.pk}", batch=batch)


def _batch_for(update, incident, audience, due_at):
    """The pipeline's batch of an update, or None when its words do not render (the preflight's
    template findings say why)."""

    def words_for(language, timezone_name, group):
        rendered = _render_group(update, incident, language, timezone_name, due_at)
        return Words(rendered["email_subject"], rendered["email_body"], rendered["sms_body"])

    try:
        return batch_build(
            incident=incident,
            audience=audience,
            available_languages=update.texts.keys(),
            words_for=words_for,
            sms_fallback_to_email=True,
        )
    except MessageTemplateError:
        return None


def _one_reader_per_variant(audience):
    """The audience cut to its first reader per language choice, timezone and channel: every
    variant the whole audience would receive, at the cost of a handful of readers."""
    seen = set()

    def first(contacts, channel):
        kept = []
        for contact in contacts:
            key = (channel, contact.language, contact.client.default_language, contact.effective_timezone)
            if key not in seen:
                seen.add(key)
                kept.append(contact)
        return kept

    email, sms = first(audience.email, "email"), first(audience.sms, "sms")
    return Audience(contacts=[*email, *sms], email=email, sms=sms, unreachable=audience.unreachable)


def update_preflight(*, update, at=None):
    """What the preflight finds about publishing this update now (nothing is queued): the
    Findings, blocking ones first. The console shows them before its publish button; the API's
    check and publish endpoints answer them as 400 field errors."""
    incident = update.incident
    at = at or timezone.now()
    due_at = update.next_update_due_at if update.is_published else promised_next_update_at(update, at)
    audience = _one_reader_per_variant(audience_for(incident=incident))
    batch = _batch_for(update, incident, audience, due_at)
    findings = update_findings(update=update, incident=incident, audience=audience, batch=batch, due_at=due_at)
    return sorted(findings, key=lambda finding: not finding.is_blocking)
