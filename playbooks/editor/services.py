"""Use cases of the playbook editor. Every save validates as the admin and the API do (model.full_clean,
a playbook file's checklist rules) and as publishing will: a stage's words go through the preflight
(playbooks.updates.preflight) with a sample reader's values. Each save records a PlaybookVersion
with its author."""

import datetime as dt
import difflib
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import ClientAccount, Contact
from comms.links import preferences_url
from comms.rendering import MessageTemplateError, apply_substitutions, render_text, sms_friendly
from playbooks.incidents.links import status_url
from playbooks.models import (
    KIND_STATES,
    RESOLVED_STATES,
    ChecklistItem,
    Playbook,
    PlaybookVersion,
    StageMessage,
    bump_playbook_version,
)
from playbooks.updates import preflight
from playbooks.updates.pipeline import READER_TOKENS, message_context

# The channels of the grid: (purpose, channel, field) -> what the author sees.
GRID_FIELDS = [
    ("update", "email", "subject", gettext_lazy("Email subject")),
    ("update", "email", "body", gettext_lazy("Email body")),
    ("update", "sms", "body", gettext_lazy("SMS")),
    ("holding", "email", "subject", gettext_lazy("Holding statement: email subject")),
    ("holding", "email", "body", gettext_lazy("Holding statement: email body")),
    ("holding", "sms", "body", gettext_lazy("Holding statement: SMS")),
]
# The grid's (channel, field) -> the field of an update's texts, as the preflight reads them.
TEXT_FIELD = {("email", "subject"): "email_subject", ("email", "body"): "email_body", ("sms", "body"): "sms_body"}
# What the editor's preview and checks fill in for the incident (no incident exists yet).
SAMPLE_TITLE = "Payments API errors"
SAMPLE_SUMMARY = "Some card payments fail with an error. Payments that went through are not affected."


def _text_field_problem(channel, field, problem):
    """A stage message's own validation error, prefixed with the text it concerns in the editor's
    words (never the model's field name)."""
    label = {("email", "subject"): _("Email subject"), ("email", "body"): _("Email body"), ("sms", "body"): _("SMS")}
    name = label.get((channel, field))
    return f"{name}: {problem}" if name else problem


def can_edit_playbooks(user, organization_id=None):
    """Commanders and admins of the organisation edit its playbooks."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and user.can_run_incidents
        and (organization_id is None or user.organization_id == organization_id)
    )


def _ensure_editor(actor, playbook):
    if not can_edit_playbooks(actor, playbook.organization_id):
        raise PermissionDenied(_("Only commanders and admins of the organisation edit its playbooks."))


def sample_reader_values(*, organization, reader=None):
    """A reader's own values (READER_TOKENS -> value) for the preview and the checks: the chosen
    reader's, else the longest name and client name among the organisation's contacts (an SMS that
    fits for them fits for everyone), with links shaped like the real ones."""
    if reader is not None:
        name, client_name, contact_pk = reader.name, reader.client.name, reader.pk
    else:
        contacts = Contact.objects.filter(client__organization=organization, is_active=True)
        clients = ClientAccount.objects.filter(organization=organization)
        name = contacts.order_by(Length("name").desc()).values_list("name", flat=True).first() or "Sam Sample"
        client_name = (
            clients.order_by(Length("name").desc()).values_list("name", flat=True).first() or "Sample Client Ltd"
        )
        contact_pk = 10**6
    return {
        READER_TOKENS["contact_name"]: name,
        READER_TOKENS["client_name"]: client_name,
        READER_TOKENS["status_url"]: status_url(10**6, contact_pk),
        READER_TOKENS["preferences_url"]: preferences_url(contact_pk),
    }


def stage_context(*, stage, language, timezone_name):
    """The message variables for one language of a stage, for a sample incident, and the next update
    it promises (None in a final stage: a resolution notice promises nothing, as publishing does)."""
    due_at = None if stage.stage in RESOLVED_STATES else timezone.now() + dt.timedelta(minutes=stage.cadence_minutes)
    context = message_context(
        organization_name=stage.playbook.organization.name,
        title=SAMPLE_TITLE,
        summary=SAMPLE_SUMMARY,
        stage=stage.stage,
        language=language,
        timezone_name=timezone_name,
        next_update_due_at=due_at,
    )
    return context, due_at


def stage_words_findings(*, stage, texts, values, timezone_name=None):
    """The preflight's blocking findings for one purpose's words of a stage, as publishing will read
    them: `texts` maps language -> {"email_subject", "email_body", "sms_body"} (an update's texts),
    `values` is a reader's (sample_reader_values). Unknown variables and broken syntax, a promise
    without a time, the status link missing or pointing elsewhere, an SMS over the segment limit."""
    timezone_name = timezone_name or stage.playbook.organization.timezone
    due_at = stage_context(stage=stage, language="en", timezone_name=timezone_name)[1]
    findings = preflight.template_findings(texts) + preflight.promise_findings(texts, due_at)
    unreadable = {(finding.language, finding.channel) for finding in findings if finding.problem == "template_syntax"}
    for language, fields in sorted(texts.items()):
        context = stage_context(stage=stage, language=language, timezone_name=timezone_name)[0]
        for channel, names in preflight.TEXT_FIELDS.items():
            parts = [fields.get(name, "") for name in names]
            if not parts[-1] or (language, channel) in unreadable:
                continue  # nothing is sent without a body; a broken template is already told
            try:
                text = "\n".join(render_text(part, context) for part in parts if part)
            except MessageTemplateError:
                continue
            if channel == "sms":
                text = sms_friendly(text)
            findings += preflight.text_findings(
                text=apply_substitutions(text, values),
                language=language,
                channel=channel,
                values=values,
                expects_link="status_url",
            )
    unique = {}
    for finding in preflight.blocking(findings):
        unique.setdefault((finding.language, finding.channel, finding.message), finding)
    return list(unique.values())


def stages_in_order(playbook):
    """The playbook's stages in its kind's lifecycle order."""
    order = {state: index for index, state in enumerate(KIND_STATES[playbook.kind])}
    return sorted(playbook.stages.all(), key=lambda stage: order.get(stage.stage, 99))


def playbook_version_record(*, playbook, actor, note=""):
    playbook.refresh_from_db()
    return PlaybookVersion.objects.create(
        playbook=playbook, number=playbook.version, snapshot=playbook.snapshot(), author=actor, note=note[:300]
    )


def _first_version(playbook):
    """Before the first editor save, what the playbook was (loaded or edited in the admin) is kept too."""
    if not playbook.saved_versions.exists():
        PlaybookVersion.objects.create(
            playbook=playbook, number=playbook.version, snapshot=playbook.snapshot(), author=None, note="Before editing"
        )


@transaction.atomic
def playbook_settings_save(*, playbook, actor, values):
    """Change the playbook's own settings (name, description, severity, language, audience, rules)."""
    _ensure_editor(actor, playbook)
    playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
    _first_version(playbook)
    for name, value in values.items():
        setattr(playbook, name, value)
    playbook.full_clean()
    playbook.save()
    return playbook_version_record(playbook=playbook, actor=actor, note="Settings")


@transaction.atomic
def stage_save(*, stage, actor, settings, words):
    """Save a stage's cadence, approval and holding-statement settings and its words.

    `words` maps (purpose, language, channel) to {"subject", "body"}; an empty body removes that
    message. Raises ValidationError naming each field ("update-de-sms") with its problems; nothing
    is saved then."""
    playbook = stage.playbook
    _ensure_editor(actor, playbook)
    Playbook.objects.select_for_update().get(pk=playbook.pk)
    _first_version(playbook)
    errors = {}
    for name, value in settings.items():
        setattr(stage, name, value)
    try:
        stage.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    words = {
        key: {part: (value or "").strip() for part, value in text.items() if part in ("subject", "body")}
        for key, text in words.items()
    }
    texts = {}
    for (purpose, language, channel), text in words.items():
        for part, value in text.items():
            texts.setdefault(purpose, {}).setdefault(language, {})[TEXT_FIELD[(channel, part)]] = value
    values = sample_reader_values(organization=playbook.organization)
    for purpose, purpose_texts in texts.items():
        for finding in stage_words_findings(stage=stage, texts=purpose_texts, values=values):
            errors.setdefault(f"{purpose}-{finding.language}-{finding.channel}", []).append(finding.message)
    existing = {(m.purpose, m.language, m.channel): m for m in stage.messages.all()}
    to_save, to_delete = [], []
    for (purpose, language, channel), text in words.items():
        key = f"{purpose}-{language}-{channel}"
        subject, body = text.get("subject", ""), text.get("body", "")
        message = existing.get((purpose, language, channel))
        if not body and not subject:
            if message is not None:
                to_delete.append(message)
            continue
        problems = []
        if message is None:
            message = StageMessage(stage=stage, purpose=purpose, language=language, channel=channel)
        changed = (message.subject, message.body) != (subject, body)
        message.subject, message.body = subject, body
        if changed:
            message.is_untranslated = False
        try:
            message.full_clean(exclude=["stage"])
        except ValidationError as error:
            problems = [
                _text_field_problem(channel, field, problem)
                for field, messages in error.message_dict.items()
                for problem in messages
                if problem not in errors.get(key, [])  # the preflight told it already
            ]
        if problems:
            errors.setdefault(key, []).extend(problems)
        elif changed or message.pk is None:
            to_save.append(message)
    if errors:
        raise ValidationError(errors)
    stage.save()
    for message in to_save:
        message.save()
    for message in to_delete:
        message.delete()
    return playbook_version_record(playbook=playbook, actor=actor, note=f"Stage {stage.stage}")


@transaction.atomic
def stage_translate_from(*, stage, actor, source_language, target_language):
    """Copy one language's words into another as a starting point, marked untranslated until edited.
    Words already written in the target language are kept. Returns the number of messages copied."""
    _ensure_editor(actor, stage.playbook)
    if source_language == target_language:
        raise ValidationError(
            {"target_language": ValidationError(_("Choose another language than the source."), code="same_language")}
        )
    probe = StageMessage(stage=stage, language=target_language, channel="sms", body="x")
    probe.full_clean(exclude=["stage"])  # an unknown language is refused here
    _first_version(stage.playbook)
    have = set(stage.messages.filter(language=target_language).values_list("purpose", "channel"))
    copied = 0
    for message in stage.messages.filter(language=source_language):
        if (message.purpose, message.channel) in have:
            continue
        StageMessage.objects.create(
            stage=stage,
            purpose=message.purpose,
            language=target_language,
            channel=message.channel,
            subject=message.subject,
            body=message.body,
            is_untranslated=True,
        )
        copied += 1
    if copied:
        playbook_version_record(
            playbook=stage.playbook, actor=actor, note=f"{stage.stage}: {target_language} from {source_language}"
        )
    return copied


def _checklist_renumber(items):
    """Positions 0, 1, 2... in the given order (an unsaved item only takes its number), without a
    version bump per item."""
    for position, item in enumerate(items):
        if item.position != position and item.pk:
            ChecklistItem.objects.filter(pk=item.pk).update(position=position)
        item.position = position


@transaction.atomic
def checklist_item_save(*, playbook, actor, item=None, values):
    """Add or change a checklist item: title, deadline in hours or in business days (not both),
    the business calendar, citation (guidance), description, and `position` in the list (1 is
    first; a new item goes last unless told). Validated as the admin and a playbook file validate a
    checklist; raises ValidationError with field errors, and nothing is saved then."""
    _ensure_editor(actor, playbook)
    Playbook.objects.select_for_update().get(pk=playbook.pk)
    if item is not None and item.playbook_id != playbook.pk:
        raise PermissionDenied(_("This checklist item belongs to another playbook."))
    _first_version(playbook)
    values = dict(values)
    position = values.pop("position", None)
    item = item or ChecklistItem(playbook=playbook)
    for name, value in values.items():
        setattr(item, name, value.strip() if isinstance(value, str) else value)
    errors = {}
    has_both = item.due_after_hours is not None and item.due_after_business_days is not None
    if has_both:
        errors["due_after_business_days"] = [_("Give the deadline in hours or in business days, not both.")]
    try:
        item.full_clean(exclude=["playbook", "position"], validate_constraints=not has_both)
    except ValidationError as error:
        for field, problems in error.message_dict.items():
            errors.setdefault(field, []).extend(problems)
    if errors:
        raise ValidationError(errors)
    listed = list(playbook.checklist_items.all())
    others = [other for other in listed if other.pk != item.pk]
    if position is not None:
        index = int(position) - 1
    elif item.pk:
        index = [other.pk for other in listed].index(item.pk)
    else:
        index = len(others)
    index = max(0, min(index, len(others)))
    _checklist_renumber([*others[:index], item, *others[index:]])
    item.save()
    playbook_version_record(playbook=playbook, actor=actor, note=f"Checklist: {item.title[:60]}")
    return item


@transaction.atomic
def checklist_item_remove(*, item, actor):
    """Take an item off its playbook's checklist (incidents already running keep theirs)."""
    playbook = item.playbook
    _ensure_editor(actor, playbook)
    Playbook.objects.select_for_update().get(pk=playbook.pk)
    _first_version(playbook)
    title = item.title
    item.delete()
    _checklist_renumber(list(playbook.checklist_items.all()))
    bump_playbook_version(playbook.pk)
    return playbook_version_record(playbook=playbook, actor=actor, note=f"Checklist: removed {title[:60]}")


@transaction.atomic
def playbook_duplicate(*, playbook, actor, name):
    """A new playbook with the same settings, stages, words and checklist, under a new name."""
    _ensure_editor(actor, playbook)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ValidationError(_("Give the new playbook a name."), code="required")})
    base = slugify(name)[:40] or "playbook"
    slug, number = base, 2
    while Playbook.objects.filter(organization=playbook.organization, slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    stages = list(playbook.stages.prefetch_related("messages"))
    checklist = list(playbook.checklist_items.all())
    copy = Playbook.objects.get(pk=playbook.pk)
    copy.pk, copy.id, copy.name, copy.slug, copy.version = None, None, name, slug, 1
    copy._state.adding = True
    copy.full_clean()
    copy.save()
    for stage in stages:
        messages = list(stage.messages.all())
        stage.pk, stage.id, stage.playbook = None, None, copy
        stage._state.adding = True
        stage.save()
        for message in messages:
            message.pk, message.id, message.stage = None, None, stage
            message._state.adding = True
            message.save()
    for item in checklist:
        item.pk, item.id, item.playbook = None, None, copy
        item._state.adding = True
        item.save()
    playbook_version_record(playbook=copy, actor=actor, note=f"Duplicated from {playbook.name} v{playbook.version}")
    return copy


def snapshot_text(snapshot):
    """A stable, line-per-value rendering of a snapshot for diffs (the version number left out)."""
    shown = {key: value for key, value in snapshot.items() if key not in ("version", "playbook_id")}
    return json.dumps(shown, indent=2, sort_keys=True, ensure_ascii=False)


def versions_diff(*, older, newer):
    """The unified diff between two saved versions, as lines."""
    return list(
        difflib.unified_diff(
            snapshot_text(older.snapshot).splitlines(),
            snapshot_text(newer.snapshot).splitlines(),
            fromfile=f"v{older.number}",
            tofile=f"v{newer.number}",
            lineterm="",
            n=2,
        )
    )
