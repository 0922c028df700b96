"""The commander console: incidents, activation with the audience preview, updates with the
plain-language check, approval and publishing, transitions and the checklist.

Views are thin: they parse a form, call one service and render. Service errors become a message
next to the field (400), a refused transition a message on the page (409); PermissionDenied is
Django's 403 and another organisation's object a 404.
"""

import zoneinfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import JargonTerm
from candor.helpers import duration_words
from comms.rendering import MessageTemplateError
from comms.selectors import reply_list
from playbooks.acknowledgements.services import acknowledgement_status
from playbooks.alerts.services import alert_confirm, alert_dismiss, alert_list
from playbooks.console.decorators import member_required
from playbooks.console.forms import (
    ApproveForm,
    ChecklistCompleteForm,
    IncidentCreateForm,
    IncidentScopeForm,
    JargonTermForm,
    TransitionForm,
    UpdateTextsForm,
    add_service_errors,
)
from playbooks.console.next_steps import next_steps, transitions_ordered
from playbooks.console.selectors import (
    delivery_counts_by_update,
    incidents_live_first,
    transitions_available,
    update_get,
    update_status,
    update_status_label,
)
from playbooks.incidents.deadlines import deadline_statuses
from playbooks.incidents.selectors import incident_get
from playbooks.incidents.services import (
    TransitionRefused,
    checklist_item_complete,
    incident_create,
    incident_transition,
)
from playbooks.incidents.topics import incident_topic
from playbooks.models import PUBLISHABLE_STATES, AlertStatus, IncidentChecklistItem, IncidentUpdate, State
from playbooks.promises.services import cadence_adherence
from playbooks.updates.jargon import jargon_term_add, jargon_term_remove
from playbooks.updates.plain_language import plain_language_check
from playbooks.updates.preview import audience_preview, sample_previews, sms_send_estimate
from playbooks.updates.scope import incident_make_public, incident_scope_change, scope_change_preview
from playbooks.updates.services import (
    no_audience_reason,
    publish_blockers,
    stage_texts,
    update_approve,
    update_draft,
    update_edit,
    update_preflight,
    update_preview,
    update_publish,
)

TIMELINE_LIMIT = 200


def countdown(due_at, now=None):
    """{"at", "text", "overdue"} for a deadline, e.g. "in 25 min" or "overdue by 5 min"."""
    if due_at is None:
        return None
    now = now or timezone.now()
    seconds = int((due_at - now).total_seconds())
    overdue = seconds < 0
    words = duration_words(abs(seconds) // 60 * 60)  # to the minute
    text = _("overdue by %(duration)s") if overdue else _("in %(duration)s")
    return {"at": due_at, "text": text % {"duration": words}, "overdue": overdue}


# ---------------------------------------------------------------------------------------------
# Incidents


OPEN_ALERT_STATUSES = [AlertStatus.PENDING, AlertStatus.RESOLVED]


@member_required
def incident_list_view(request):
    now = timezone.now()
    incidents = list(incidents_live_first(user=request.user)[:200])
    announced = set(
        IncidentUpdate.objects.filter(incident__in=incidents, published_at__isnull=False).values_list(
            "incident_id", flat=True
        )
    )
    for incident in incidents:
        incident.countdown = countdown(incident.next_update_due_at, now) if incident.is_live else None
        # A serious incident nobody has been told about yet stands out.
        incident.is_unannounced = (
            incident.severity <= 2 and (incident.is_live or incident.state == "draft") and incident.pk not in announced
        )
    alerts = alert_list(organization=request.user.organization).filter(status__in=OPEN_ALERT_STATUSES)[:20]
    return render(request, "playbooks/console/incident_list.html", {"incidents": incidents, "alerts": alerts})


@member_required
@require_POST
def alert_decide(request, pk, decision):
    """Confirm an alert from monitoring (its draft incident is activated) or dismiss it."""
    alert = get_object_or_404(alert_list(organization=request.user.organization), pk=pk)
    note = (request.POST.get("note") or "")[:2000]
    decide = {"confirm": alert_confirm, "dismiss": alert_dismiss}.get(decision)
    if decide is None:
        raise Http404("No such decision.")
    try:
        alert = decide(alert=alert, actor=request.user, note=note)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("incident_list")
    if decision == "confirm":
        messages.success(
            request, _("Confirmed: the incident is active. Nothing was sent: draft and publish the first update.")
        )
        return redirect("incident_detail", pk=alert.incident_id)
    messages.success(request, _("Dismissed “%(title)s”.") % {"title": alert.title})
    return redirect("incident_list")


@member_required
def incident_new(request):
    if not request.user.can_run_incidents:
        raise PermissionDenied(_("Only commanders and admins open incidents."))
    organization = request.user.organization
    form = IncidentCreateForm(request.POST or None, organization=organization)
    # A detection time typed without a zone is the organisation's local time.
    with timezone.override(zoneinfo.ZoneInfo(organization.timezone or "UTC")):
        is_valid = request.method == "POST" and form.is_valid()
    if is_valid:
        data = form.cleaned_data
        try:
            incident = incident_create(
                playbook=data["playbook"],
                actor=request.user,
                title=data["title"],
                severity=data["severity"],
                summary=data["summary"],
                backup_commander=data["backup_commander"],
                detected_at=data["detected_at"],
                affected_clients=data["affected_clients"],
                affected_tags=data["affected_tags"],
                affected_countries=data["affected_countries"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Draft created. Nothing has been sent: check the audience, then activate."))
            return redirect("incident_detail", pk=incident.pk)
    status = 400 if form.is_bound else 200
    return render(request, "playbooks/console/incident_new.html", {"form": form}, status=status)


def _live_context(request, incident):
    """What the incident page refreshes every few seconds: state, promise, updates, replies, timeline."""
    now = timezone.now()
    counts = delivery_counts_by_update(incident=incident)
    updates = list(incident.updates.select_related("author", "approver", "published_by").order_by("-created_at"))
    for update in updates:
        update.status_text = update_status(update)
        update.status_label = update_status_label(update)
        update.delivery = counts.get(update.pk)
    timeline = list(incident.timeline.select_related("actor").order_by("-at", "-id")[:TIMELINE_LIMIT])
    replies = list(
        reply_list(organization=incident.organization, topic=incident_topic(incident)).select_related(
            "contact__client"
        )[:20]
    )
    adherence = cadence_adherence(incident=incident, now=now)
    return {
        "acknowledgements": acknowledgement_status(incident=incident),
        "incident": incident,
        "countdown": countdown(incident.next_update_due_at, now) if incident.is_live else None,
        "adherence": adherence if adherence.promises else None,
        "updates": updates,
        "timeline": timeline,
        "replies": replies,
    }


def _incident_context(request, incident, *, transition_forms=None, error=None):
    user = request.user
    transition_forms = transition_forms or {}
    transitions = transitions_ordered(
        [
            (
                transition,
                transition_forms.get(transition.name) or TransitionForm(needs=transition.needs, prefix=transition.name),
            )
            for transition in transitions_available(incident=incident, user=user, include_waiting=True)
        ]
    )
    now = timezone.now()
    checklist = []
    for item, status in deadline_statuses(incident=incident, now=now):
        item.deadline = status  # ok, due_soon, overdue, done, done_late or no_deadline
        item.countdown = None if item.is_done else countdown(item.due_at, now)
        checklist.append(item)
    context = _live_context(request, incident)
    steps = next_steps(incident=incident, user=user, updates=context["updates"])
    context.update(
        {
            "next_steps": steps,
            "has_primary_step": any(step.is_primary for step in steps),
            "transitions": transitions,
            "error": error,
            "checklist": checklist,
            "checklist_form": ChecklistCompleteForm(),
            "can_draft": user.can_draft_updates and incident.state in PUBLISHABLE_STATES,
            "can_complete_checklist": user.can_draft_updates and not incident.is_final,
            "preview": audience_preview(incident=incident) if incident.state == State.DRAFT else None,
            "can_run": user.can_run_incidents_of(incident.organization_id),
            "no_audience": "" if incident.is_final else no_audience_reason(incident=incident),
        }
    )
    return context


@member_required
def incident_detail(request, pk):
    incident = incident_get(user=request.user, pk=pk)
    return render(request, "playbooks/console/incident_detail.html", _incident_context(request, incident))


@member_required
def incident_live(request, pk):
    incident = incident_get(user=request.user, pk=pk)
    return render(request, "playbooks/console/_live.html", _live_context(request, incident))


@member_required
@require_POST
def incident_transition_view(request, pk, name):
    incident = incident_get(user=request.user, pk=pk)
    available = {
        transition.name: transition for transition in transitions_available(incident=incident, user=request.user)
    }
    needs = available[name].needs if name in available else ()
    form = TransitionForm(request.POST, needs=needs, prefix=name)
    template = "playbooks/console/incident_detail.html"
    if not form.is_valid():
        return render(
            request, template, _incident_context(request, incident, transition_forms={name: form}), status=400
        )
    try:
        incident = incident_transition(
            incident=incident,
            name=name,
            actor=request.user,
            note=form.cleaned_data["note"],
            resolution_summary=form.cleaned_data.get("resolution_summary") or None,
        )
    except TransitionRefused as refused:
        incident = incident_get(user=request.user, pk=pk)
        return render(request, template, _incident_context(request, incident, error=str(refused)), status=409)
    except ValidationError as error:
        add_service_errors(form, error)
        return render(
            request, template, _incident_context(request, incident, transition_forms={name: form}), status=400
        )
    messages.success(request, _("The incident is now: %(state)s.") % {"state": incident.state_label})
    return redirect("incident_detail", pk=incident.pk)


@member_required
def incident_scope(request, pk):
    """Change who the incident affects: preview who is added or removed, then save."""
    incident = incident_get(user=request.user, pk=pk)
    if not request.user.can_run_incidents_of(incident.organization_id):
        raise PermissionDenied(_("Only commanders and admins change who is affected."))
    form = IncidentScopeForm(request.POST or None, incident=incident)
    diff = None
    if request.method == "POST" and form.is_valid():
        scope = {
            "clients": form.cleaned_data["affected_clients"],
            "tags": form.cleaned_data["affected_tags"],
            "countries": form.cleaned_data["affected_countries"],
        }
        try:
            if "save" in request.POST:
                diff, queued = incident_scope_change(incident=incident, actor=request.user, **scope)
                added, removed = len(diff.contacts_added), len(diff.contacts_removed)
                if queued:
                    note = ngettext(
                        "Scope changed: %(added)s contacts added, %(removed)s removed; "
                        "the latest update was sent to the new ones (%(count)s message).",
                        "Scope changed: %(added)s contacts added, %(removed)s removed; "
                        "the latest update was sent to the new ones (%(count)s messages).",
                        queued,
                    ) % {"added": added, "removed": removed, "count": queued}
                else:
                    note = ngettext(
                        "Scope changed: %(count)s contact added, %(removed)s removed.",
                        "Scope changed: %(count)s contacts added, %(removed)s removed.",
                        added,
                    ) % {"count": added, "removed": removed}
                messages.success(request, note)
                return redirect("incident_detail", pk=incident.pk)
            diff = scope_change_preview(incident=incident, **scope)
        except ValidationError as error:
            add_service_errors(form, error)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "playbooks/console/incident_scope.html",
        {"incident": incident, "form": form, "diff": diff},
        status=status,
    )


@member_required
@require_POST
def incident_public_view(request, pk):
    """Show the incident on the public status page, or take it off."""
    incident = incident_get(user=request.user, pk=pk)
    is_public = request.POST.get("is_public") == "1"
    try:
        incident_make_public(incident=incident, actor=request.user, is_public=is_public)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("The incident is on the public status page.") if is_public else _("The incident is no longer public."),
        )
    return redirect("incident_detail", pk=incident.pk)


@member_required
@require_POST
def checklist_complete(request, pk, item_pk):
    incident = incident_get(user=request.user, pk=pk)
    item = get_object_or_404(IncidentChecklistItem, pk=item_pk, incident=incident)
    form = ChecklistCompleteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        checklist_item_complete(item=item, actor=request.user, note=note)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Done: %(title)s.") % {"title": item.title})
    return redirect(reverse("incident_detail", kwargs={"pk": incident.pk}) + "#checklist")


# ---------------------------------------------------------------------------------------------
# Updates


@member_required
@require_POST
def update_new(request, pk):
    incident = incident_get(user=request.user, pk=pk)
    try:
        update = update_draft(
            incident=incident, author=request.user, is_holding_statement=request.POST.get("holding") == "1"
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("incident_detail", pk=incident.pk)
    return redirect("update_detail", pk=update.pk)


def _added_language_texts(update, language):
    """A new language starts from the playbook's words for it, else from a copy to translate."""
    prepared = stage_texts(update.incident, update.stage, "holding" if update.is_holding_statement else "update")
    if language in prepared:
        return prepared[language]
    default = update.incident.plan.get("default_language") or "en"
    source = update.texts.get(default) or next(iter(update.texts.values()))
    return dict(source)


def _update_context(request, update, form, *, publish_errors=None):
    user = request.user
    incident = update.incident
    context = {
        "update": update,
        "incident": incident,
        "form": form,
        "status_text": update_status(update),
        "status_label": update_status_label(update),
        "publish_errors": publish_errors or [],
        "delivery": delivery_counts_by_update(incident=incident).get(update.pk),
        "approve_form": ApproveForm(),
        "can_edit": user.can_draft_updates and not update.is_published,
        "can_run": user.can_run_incidents_of(incident.organization_id),
        "is_author": update.author_id == user.pk,
    }
    if update.is_published:
        return context
    try:
        preview = update_preview(update=update, sample_timezone=incident.organization.timezone)
    except MessageTemplateError as error:
        context["preview_error"] = str(error)
        preview = None
    if preview:
        context["preview"] = preview
        context["samples"] = sample_previews(update=update, preview=preview)
        context["sms_send"] = sms_send_estimate(segments=preview["sms_segments_total"])
    context["checks"] = plain_language_check(update=update)
    context["warning_count"] = sum(len(check.warnings) for check in context["checks"].values())
    context["preflight"] = update_preflight(update=update)
    blocking = [str(finding) for finding in context["preflight"] if finding.is_blocking]
    context["publish_blockers"] = publish_blockers(update=update, incident=incident) + (
        [
            ngettext(
                "The preflight found %(count)s problem to fix first (above).",
                "The preflight found %(count)s problems to fix first (above).",
                len(blocking),
            )
            % {"count": len(blocking)}
        ]
        if blocking
        else []
    )
    return context


@member_required
def update_detail(request, pk):
    update = update_get(user=request.user, pk=pk)
    form = UpdateTextsForm(
        request.POST or None, texts=update.texts, initial={"next_update_due_at": update.next_update_due_at}
    )
    if request.method == "POST":
        if not request.user.can_draft_updates:
            raise PermissionDenied(_("Only the incident team edits updates."))
        if update.is_published:
            messages.error(request, _("This update is published; publish a correction as a new update."))
            return redirect("update_detail", pk=update.pk)
        if form.is_valid():
            added = form.cleaned_data.get("add_language")
            texts = form.texts(added_texts=_added_language_texts(update, added) if added else None)
            was_approved = update.is_approved
            try:
                update = update_edit(
                    update=update,
                    actor=request.user,
                    texts=texts,
                    next_update_due_at=form.cleaned_data["next_update_due_at"],
                )
            except ValidationError as error:
                form.add_text_errors(error)
            else:
                note = _("Saved.")
                if was_approved and not update.is_approved:
                    note = _("Saved. The words changed, so the approval was withdrawn: it needs approving again.")
                messages.success(request, note)
                return redirect("update_detail", pk=update.pk)
        return render(
            request, "playbooks/console/update_detail.html", _update_context(request, update, form), status=400
        )
    return render(request, "playbooks/console/update_detail.html", _update_context(request, update, form))


@member_required
@require_POST
def update_approve_view(request, pk):
    update = update_get(user=request.user, pk=pk)
    form = ApproveForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        update_approve(update=update, actor=request.user, note=note)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Approved. The author or another commander can publish it now."))
    return redirect("update_detail", pk=update.pk)


@member_required
@require_POST
def update_publish_view(request, pk):
    update = update_get(user=request.user, pk=pk)
    try:
        update = update_publish(update=update, actor=request.user)
    except ValidationError as error:
        update = IncidentUpdate.objects.select_related("incident").get(pk=update.pk)
        form = UpdateTextsForm(texts=update.texts, initial={"next_update_due_at": update.next_update_due_at})
        context = _update_context(request, update, form, publish_errors=error.messages)
        return render(request, "playbooks/console/update_detail.html", context, status=400)
    audience = update.audience or {}
    email, sms = audience.get("email", 0), audience.get("sms", 0)
    published = ngettext(
        "Published to %(counter)s contact by email and %(sms)s by SMS.",
        "Published to %(counter)s contacts by email and %(sms)s by SMS.",
        email,
    ) % {"counter": email, "sms": sms}
    messages.success(request, " ".join([published, _("Delivery counts update below.")]))
    return redirect("incident_detail", pk=update.incident_id)


# ---------------------------------------------------------------------------------------------
# The organisation's jargon list


@member_required
def jargon_list(request):
    organization = request.user.organization
    form = JargonTermForm(request.POST or None, organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            term = jargon_term_add(organization=organization, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Added “%(term)s”.") % {"term": term.term})
            return redirect("jargon_list")
    terms = JargonTerm.objects.filter(organization=organization)
    return render(
        request,
        "playbooks/console/jargon_list.html",
        {"form": form, "terms": terms},
        status=400 if form.is_bound else 200,
    )


@member_required
@require_POST
def jargon_delete(request, pk):
    term = get_object_or_404(JargonTerm, pk=pk, organization=request.user.organization)
    jargon_term_remove(jargon_term=term, actor=request.user)
    messages.success(request, _("Removed “%(term)s”.") % {"term": term.term})
    return redirect("jargon_list")
