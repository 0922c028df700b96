"""The playbook editor's pages (commanders and admins of the organisation); the live preview is an
htmx fragment posted on input."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import LANGUAGES, Contact, JargonTerm
from comms.rendering import (
    MAX_SMS_SEGMENTS,
    MessageTemplateError,
    apply_substitutions,
    render_text,
    sms_friendly,
    sms_size,
)
from playbooks.console.decorators import member_required
from playbooks.editor.forms import ChecklistItemForm, PlaybookSettingsForm, StageSettingsForm
from playbooks.editor.services import (
    GRID_FIELDS,
    SAMPLE_SUMMARY,
    SAMPLE_TITLE,
    TEXT_FIELD,
    can_edit_playbooks,
    checklist_item_remove,
    checklist_item_save,
    playbook_duplicate,
    playbook_settings_save,
    sample_reader_values,
    stage_context,
    stage_save,
    stage_translate_from,
    stage_words_findings,
    stages_in_order,
    versions_diff,
)
from playbooks.models import STATE_LABELS, ChecklistItem, Playbook, PlaybookStage
from playbooks.updates.pipeline import MESSAGE_VARIABLES, READER_TOKENS
from playbooks.updates.plain_language import check_texts
from playbooks.updates.wording import stage_words

LANGUAGE_NAMES = dict(LANGUAGES)


def _playbook_for(request, pk):
    if not can_edit_playbooks(request.user):
        raise PermissionDenied(_("Only commanders and admins edit playbooks."))
    return get_object_or_404(Playbook, pk=pk, organization=request.user.organization)


def _stage_for(request, pk, stage_name):
    playbook = _playbook_for(request, pk)
    return get_object_or_404(PlaybookStage.objects.select_related("playbook"), playbook=playbook, stage=stage_name)


@member_required
def playbook_list(request):
    if not can_edit_playbooks(request.user):
        raise PermissionDenied(_("Only commanders and admins edit playbooks."))
    playbooks = Playbook.objects.filter(organization=request.user.organization).order_by("kind", "name")
    return render(request, "playbooks/editor/list.html", {"playbooks": playbooks})


@member_required
@require_http_methods(["GET", "POST"])
def playbook_edit(request, pk):
    playbook = _playbook_for(request, pk)
    form = PlaybookSettingsForm(request.POST or None, instance=Playbook.objects.get(pk=playbook.pk))
    if request.method == "POST":
        if form.is_valid():
            try:
                playbook_settings_save(playbook=playbook, actor=request.user, values=form.values())
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                messages.success(request, _("Saved: a new version of the playbook."))
                return redirect("playbook_editor", pk=playbook.pk)
        return _playbook_page(request, playbook, form=form, status=400)
    return _playbook_page(request, playbook, form=form)


def _playbook_page(request, playbook, *, form=None, checklist_form=None, status=200):
    """The playbook's page; `checklist_form` is a refused checklist form, shown open in its place
    (the item's own edit form, or the add form) with what was typed and its errors."""
    stages = stages_in_order(playbook)
    for stage in stages:
        stage.label = STATE_LABELS.get(stage.stage, stage.stage)
        stage.languages = sorted({message.language for message in stage.messages.all()})
        stage.untranslated = stage.messages.filter(is_untranslated=True).count()
    checklist = list(playbook.checklist_items.all())
    refused_pk = checklist_form.instance.pk if checklist_form is not None else None
    for number, item in enumerate(checklist, start=1):
        item.number = number
        if checklist_form is not None and refused_pk == item.pk:
            item.form, item.is_refused = checklist_form, True
        else:
            item.form = ChecklistItemForm(instance=item, initial={"position": number}, auto_id=f"item-{item.pk}-%s")
    add_form = ChecklistItemForm(auto_id="new-item-%s")
    if checklist_form is not None and refused_pk is None:
        add_form = checklist_form
    context = {
        "playbook": playbook,
        "form": form or PlaybookSettingsForm(instance=Playbook.objects.get(pk=playbook.pk)),
        "stages": stages,
        "checklist": checklist,
        "checklist_form": add_form,
        "checklist_add_refused": checklist_form is not None and refused_pk is None,
        "versions": playbook.saved_versions.select_related("author")[:5],
    }
    return render(request, "playbooks/editor/playbook.html", context, status=status)


def _grid(stage, data=None):
    """Per language, the six fields of the grid with their current words (or the posted ones)."""
    existing = {(m.purpose, m.language, m.channel): m for m in stage.messages.all()}
    languages = sorted({language for _, language, _ in existing}, key=lambda code: (code != "en", code))
    if data is not None:
        languages += [code for code in data.getlist("languages") if code not in languages]
    rows = []
    for language in languages:
        fields = []
        for purpose, channel, part, label in GRID_FIELDS:
            name = f"{purpose}-{language}-{channel}-{part}"
            message = existing.get((purpose, language, channel))
            value = data.get(name, "") if data is not None else getattr(message, part, "") if message else ""
            fields.append(
                {
                    "name": name,
                    "label": label,
                    "value": value,
                    "is_long": part == "body" and channel == "email",
                    "is_subject": part == "subject",
                    "is_untranslated": bool(message and message.is_untranslated),
                }
            )
        rows.append({"language": language, "name": LANGUAGE_NAMES.get(language, language), "fields": fields})
    return rows


def _words_from(data, languages):
    words = {}
    for language in languages:
        for purpose, channel, part, _label in GRID_FIELDS:
            words.setdefault((purpose, language, channel), {})[part] = data.get(
                f"{purpose}-{language}-{channel}-{part}", ""
            )
    return words


def _readers(organization):
    return (
        Contact.objects.filter(client__organization=organization, is_active=True)
        .select_related("client")
        .order_by("client__name", "name")
    )


@member_required
@require_http_methods(["GET", "POST"])
def stage_edit(request, pk, stage_name):
    stage = _stage_for(request, pk, stage_name)
    playbook = stage.playbook
    settings_form = StageSettingsForm(request.POST or None, instance=PlaybookStage.objects.get(pk=stage.pk))
    errors = {}
    status = 200
    if request.method == "POST":
        languages = request.POST.getlist("languages")
        if settings_form.is_valid():
            try:
                stage_save(
                    stage=PlaybookStage.objects.get(pk=stage.pk),
                    actor=request.user,
                    settings=settings_form.cleaned_data,
                    words=_words_from(request.POST, languages),
                )
            except ValidationError as error:
                errors = error.message_dict
            else:
                messages.success(
                    request,
                    _("Saved the %(stage)s stage: a new version of the playbook.")
                    % {"stage": STATE_LABELS.get(stage.stage, stage.stage)},
                )
                return redirect("playbook_editor_stage", pk=playbook.pk, stage_name=stage.stage)
        status = 400
    grid = _grid(stage, request.POST if request.method == "POST" else None)
    for row in grid:
        row["errors"] = [
            problem
            for key, problems in errors.items()
            if key.split("-", 1)[-1].rsplit("-", 1)[0] == row["language"]
            for problem in problems
        ]
    readers = list(_readers(playbook.organization)[:200])
    return render(
        request,
        "playbooks/editor/stage.html",
        {
            "playbook": playbook,
            "stage": stage,
            "stage_label": STATE_LABELS.get(stage.stage, stage.stage),
            "settings_form": settings_form,
            "grid": grid,
            "errors": errors,
            "readers": readers,
            "reader": readers[0] if readers else None,
            "variables": MESSAGE_VARIABLES,
            "all_languages": LANGUAGES,
            "max_segments": MAX_SMS_SEGMENTS,
        },
        status=status,
    )


def _render(text, context, values):
    try:
        return apply_substitutions(render_text(text, context), values), ""
    except MessageTemplateError as error:
        return "", str(error)


def stage_preview_context(*, stage, language, words, reader, jargon):
    """What one language's words look like for the sample reader, with the preflight's findings (the
    ones a save and publishing refuse) and the plain-language check."""
    playbook = stage.playbook
    organization = playbook.organization
    timezone_name = (
        reader.timezone or reader.client.timezone or organization.timezone if reader else organization.timezone
    )
    context, due_at = stage_context(stage=stage, language=language, timezone_name=timezone_name)
    values = sample_reader_values(organization=organization, reader=reader)
    findings = []
    where = {
        ("update", "email"): _("Email"),
        ("update", "sms"): _("SMS"),
        ("holding", "email"): _("Holding statement email"),
        ("holding", "sms"): _("Holding statement SMS"),
    }
    for purpose in ("update", "holding"):
        texts = {language: {}}
        for (word_purpose, channel, part), text in words.items():
            if word_purpose == purpose:
                texts[language][TEXT_FIELD[(channel, part)]] = text.strip()
        for finding in stage_words_findings(stage=stage, texts=texts, values=values, timezone_name=timezone_name):
            findings.append(f"{where[(purpose, finding.channel)]}: {finding.message}")
    parts = {}
    for purpose, channel, part, _label in GRID_FIELDS:
        rendered, _error = _render(words.get((purpose, channel, part), ""), context, values)
        if channel == "sms":
            rendered = sms_friendly(rendered)
        parts[(purpose, channel, part)] = rendered
    sizes = {}
    for purpose in ("update", "holding"):
        sms = parts[(purpose, "sms", "body")]
        if sms:
            size = sms_size(sms)
            sizes[purpose] = {
                "encoding": size.encoding,
                "units": size.units,
                "segments": size.segments,
                "too_long": size.segments > MAX_SMS_SEGMENTS,
            }
    checks = check_texts(
        texts={
            language: {
                "email_subject": words.get(("update", "email", "subject"), ""),
                "email_body": words.get(("update", "email", "body"), ""),
                "sms_body": words.get(("update", "sms", "body"), ""),
            }
        },
        jargon=jargon,
        content_rules=playbook.content_rules or {},
        default_language=playbook.default_language,
        expects_next_update=due_at is not None,
        context={
            "organization_name": organization.name,
            "client_name": values[READER_TOKENS["client_name"]],
            "contact_name": values[READER_TOKENS["contact_name"]],
            "incident_title": SAMPLE_TITLE,
            "incident_summary": SAMPLE_SUMMARY,
            "stage": lambda code: stage_words(stage.stage, code),
            "next_update_at": context["next_update_at"],
            "status_url": "",
            "preferences_url": "",
        },
    )
    return {
        "language": language,
        "language_name": LANGUAGE_NAMES.get(language, language),
        "reader": reader,
        "timezone_name": timezone_name,
        "email_subject": parts[("update", "email", "subject")],
        "email_body": parts[("update", "email", "body")],
        "sms": parts[("update", "sms", "body")],
        "holding_sms": parts[("holding", "sms", "body")],
        "sizes": sizes,
        "findings": findings,
        "check": checks.get(language),
        "max_segments": MAX_SMS_SEGMENTS,
    }


@member_required
@require_POST
def stage_preview(request, pk, stage_name):
    stage = _stage_for(request, pk, stage_name)
    language = request.POST.get("language", "")
    if language not in LANGUAGE_NAMES:
        raise Http404(_("No such language."))
    reader = _readers(stage.playbook.organization).filter(pk=request.POST.get("reader") or 0).first()
    words = {
        (purpose, channel, part): request.POST.get(f"{purpose}-{language}-{channel}-{part}", "")
        for purpose, channel, part, _label in GRID_FIELDS
    }
    jargon = list(
        JargonTerm.objects.filter(organization=stage.playbook.organization).values("term", "plain_words", "language")
    )
    return render(
        request,
        "playbooks/editor/_preview.html",
        stage_preview_context(stage=stage, language=language, words=words, reader=reader, jargon=jargon),
    )


@member_required
@require_POST
def stage_translate(request, pk, stage_name):
    stage = _stage_for(request, pk, stage_name)
    try:
        copied = stage_translate_from(
            stage=stage,
            actor=request.user,
            source_language=request.POST.get("source_language", ""),
            target_language=request.POST.get("target_language", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            ngettext(
                "Copied %(count)s message as a starting point, marked untranslated until edited.",
                "Copied %(count)s messages as a starting point, marked untranslated until edited.",
                copied,
            )
            % {"count": copied},
        )
    return redirect("playbook_editor_stage", pk=stage.playbook.pk, stage_name=stage.stage)


@member_required
@require_POST
def checklist_add(request, pk):
    """Add a checklist item, or change one (`item` posted); refused input comes back with its errors."""
    playbook = _playbook_for(request, pk)
    item_pk = request.POST.get("item")
    item = get_object_or_404(ChecklistItem, pk=item_pk, playbook=playbook) if item_pk else None
    form = ChecklistItemForm(request.POST, instance=item, auto_id=f"item-{item.pk}-%s" if item else "new-item-%s")
    if form.is_valid():
        try:
            checklist_item_save(playbook=playbook, actor=request.user, item=item, values=form.values())
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, _("Checklist saved: a new version of the playbook."))
            return redirect("playbook_editor", pk=playbook.pk)
    return _playbook_page(request, playbook, checklist_form=form, status=400)


@member_required
@require_POST
def checklist_remove(request, pk, item_pk):
    playbook = _playbook_for(request, pk)
    item = get_object_or_404(ChecklistItem, pk=item_pk, playbook=playbook)
    checklist_item_remove(item=item, actor=request.user)
    messages.success(
        request, _("Removed “%(title)s” from the checklist: a new version of the playbook.") % {"title": item.title}
    )
    return redirect("playbook_editor", pk=playbook.pk)


@member_required
@require_POST
def playbook_copy(request, pk):
    playbook = _playbook_for(request, pk)
    try:
        copy = playbook_duplicate(playbook=playbook, actor=request.user, name=request.POST.get("name", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("playbook_editor", pk=playbook.pk)
    messages.success(request, _("Created %(copy)s from %(playbook)s.") % {"copy": copy.name, "playbook": playbook.name})
    return redirect("playbook_editor", pk=copy.pk)


@member_required
def playbook_history(request, pk):
    playbook = _playbook_for(request, pk)
    versions = list(playbook.saved_versions.select_related("author"))
    by_pk = {str(version.pk): version for version in versions}
    newer = by_pk.get(request.GET.get("b", "")) or (versions[0] if versions else None)
    older = by_pk.get(request.GET.get("a", "")) or (versions[1] if len(versions) > 1 else None)
    diff = versions_diff(older=older, newer=newer) if older and newer else []
    return render(
        request,
        "playbooks/editor/history.html",
        {"playbook": playbook, "versions": versions, "older": older, "newer": newer, "diff": diff},
    )
