"""Use cases of the playbook editor. Every save validates as the admin does (model.full_clean, the
message templates against MESSAGE_VARIABLES) and records a PlaybookVersion with its author."""

import difflib
import json
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.text import slugify

from comms.rendering import MessageTemplateError, render_text
from playbooks.models import (
    KIND_STATES,
    ChecklistItem,
    Playbook,
    PlaybookVersion,
    StageMessage,
)
from playbooks.updates.pipeline import MESSAGE_VARIABLES

# The channels of the grid: (purpose, channel, field) -> what the author sees.
GRID_FIELDS = [
    ("update", "email", "subject", "Email subject"),
    ("update", "email", "body", "Email body"),
    ("update", "sms", "body", "SMS"),
    ("holding", "email", "subject", "Holding statement: email subject"),
    ("holding", "email", "body", "Holding statement: email body"),
    ("holding", "sms", "body", "Holding statement: SMS"),
]
VARIABLE = re.compile(r"{{\s*([A-Za-z_][\w.]*)")
TAG_VARIABLES = re.compile(r"{%\s*(?:if|elif|for\s+\w+\s+in)\s+(?:not\s+)?([A-Za-z_][\w.]*)")


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
        raise PermissionDenied("Only commanders and admins of the organisation edit its playbooks.")


def template_findings(text):
    """What is wrong with a message template: broken syntax, variables that do not exist. Empty when fine."""
    findings = []
    try:
        render_text(text or "", {})
    except MessageTemplateError as error:
        findings.append(str(error))
    names = {match.split(".")[0] for match in VARIABLE.findall(text or "") + TAG_VARIABLES.findall(text or "")}
    for name in sorted(names - set(MESSAGE_VARIABLES)):
        findings.append(f"Unknown variable {{{{ {name} }}}}: use one of {', '.join(MESSAGE_VARIABLES)}.")
    return findings


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
    existing = {(m.purpose, m.language, m.channel): m for m in stage.messages.all()}
    to_save, to_delete = [], []
    for (purpose, language, channel), text in words.items():
        key = f"{purpose}-{language}-{channel}"
        subject, body = (text.get("subject") or "").strip(), (text.get("body") or "").strip()
        message = existing.get((purpose, language, channel))
        if not body and not subject:
            if message is not None:
                to_delete.append(message)
            continue
        problems = [
            f"{label}: {finding}"
            for label, value in (("subject", subject), ("body", body))
            for finding in template_findings(value)
        ]
        if message is None:
            message = StageMessage(stage=stage, purpose=purpose, language=language, channel=channel)
        changed = (message.subject, message.body) != (subject, body)
        message.subject, message.body = subject, body
        if changed:
            message.is_untranslated = False
        try:
            message.full_clean(exclude=["stage"])
        except ValidationError as error:
            problems.extend(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
        if problems:
            errors[key] = problems
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
        raise ValidationError({"target_language": "Choose another language than the source."})
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


@transaction.atomic
def checklist_item_save(*, playbook, actor, item=None, values):
    """Add or change a checklist item (title, deadline in hours or business days, citation, guidance)."""
    _ensure_editor(actor, playbook)
    _first_version(playbook)
    item = item or ChecklistItem(playbook=playbook, position=playbook.checklist_items.count())
    for name, value in values.items():
        setattr(item, name, value)
    item.full_clean()
    item.save()
    playbook_version_record(playbook=playbook, actor=actor, note=f"Checklist: {item.title[:60]}")
    return item


@transaction.atomic
def playbook_duplicate(*, playbook, actor, name):
    """A new playbook with the same settings, stages, words and checklist, under a new name."""
    _ensure_editor(actor, playbook)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the new playbook a name."})
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
