"""The internal debrief and the follow-ups, as pages for members of the organisation.

Thin: parse input, check who may do it, call one service, render. Every member reads these pages;
the debrief is edited by commanders, admins and communicators; follow-ups are closed by their owner
(leadership only ever their own), commanders and admins. Another organisation's incident or
follow-up is a 404.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from candor.helpers import display_name
from playbooks.console.decorators import member_required
from playbooks.debriefs import services as debriefs
from playbooks.debriefs.selectors import follow_up_rows
from playbooks.incidents.selectors import incident_get
from playbooks.models.debriefs import MISSING_PARTS, DebriefActionItem, FollowUp

# ---- The internal debrief


class DebriefForm(forms.Form):
    what_happened = forms.CharField(
        label=gettext_lazy("What happened"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=gettext_lazy("Pre-filled from the timeline when the debrief opened; edit freely."),
    )
    went_well = forms.CharField(
        label=gettext_lazy("What went well"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    went_badly = forms.CharField(
        label=gettext_lazy("What did not go well"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )


class ActionItemForm(forms.Form):
    description = forms.CharField(label=pgettext_lazy("action item", "Action"), max_length=500)
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=None)
    due_on = forms.DateField(label=gettext_lazy("Due"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = debriefs.organization_members(organization=organization)
        self.fields["owner"].label_from_instance = lambda user: f"{display_name(user)} ({user.get_role_display()})"


def _add_errors(form, error):
    if hasattr(error, "error_dict"):
        for field_name, field_errors in error.message_dict.items():
            form.add_error(field_name if field_name in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


def _debrief_context(request, incident, *, form=None, action_form=None, error=""):
    debrief = debriefs.debrief_get_or_open(incident=incident)
    can_edit = debriefs.can_edit_debrief(request.user, incident) and not incident.is_final
    return {
        "section": "debrief",
        "incident": incident,
        "debrief": debrief,
        "can_edit": can_edit,
        "form": form
        or DebriefForm(
            initial={
                "what_happened": debrief.what_happened,
                "went_well": debrief.went_well,
                "went_badly": debrief.went_badly,
            }
        ),
        "action_form": action_form or ActionItemForm(organization=incident.organization),
        "action_items": list(debrief.action_items.select_related("owner")),
        "missing": [MISSING_PARTS.get(part, part) for part in debrief.missing_for_completion()],
        "follow_ups": list(incident.follow_ups.select_related("client", "owner", "closed_by")),
        "survey": getattr(incident, "survey", None),
        "error": error,
        "today": timezone.localdate(),
    }


@member_required
@require_http_methods(["GET", "POST"])
def debrief_page(request, pk):
    """The internal debrief: anyone in the organisation reads it; the incident team writes it."""
    incident = incident_get(user=request.user, pk=pk)
    if request.method == "POST":
        debrief = debriefs.debrief_get_or_open(incident=incident)
        form = DebriefForm(request.POST)
        if form.is_valid():
            try:
                debriefs.debrief_save(debrief=debrief, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("Debrief saved."))
                return redirect("debrief", pk=incident.pk)
        return render(
            request, "playbooks/debrief/debrief.html", _debrief_context(request, incident, form=form), status=400
        )
    return render(request, "playbooks/debrief/debrief.html", _debrief_context(request, incident))


@member_required
@require_POST
def debrief_action_add_view(request, pk):
    incident = incident_get(user=request.user, pk=pk)
    debrief = debriefs.debrief_get_or_open(incident=incident)
    form = ActionItemForm(request.POST, organization=incident.organization)
    if form.is_valid():
        try:
            debriefs.debrief_action_add(debrief=debrief, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Action item added."))
            return redirect(f"{reverse('debrief', args=[incident.pk])}#actions")
    elif not debriefs.can_edit_debrief(request.user, incident):
        raise PermissionDenied(_("Only the incident team may edit the debrief."))
    return render(
        request, "playbooks/debrief/debrief.html", _debrief_context(request, incident, action_form=form), status=400
    )


@member_required
@require_POST
def debrief_action_view(request, pk, item_pk):
    """Tick an action item off or on, or remove it."""
    incident = incident_get(user=request.user, pk=pk)
    item = get_object_or_404(
        DebriefActionItem.objects.select_related("debrief"), pk=item_pk, debrief__incident=incident
    )
    what = request.POST.get("do")
    try:
        if what == "remove":
            debriefs.debrief_action_remove(item=item, actor=request.user)
        elif what in ("done", "undone"):
            debriefs.debrief_action_done(item=item, actor=request.user, done=what == "done")
        else:
            return HttpResponse(_("Say what to do: done, undone or remove."), status=400)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(f"{reverse('debrief', args=[incident.pk])}#actions")


@member_required
@require_POST
def debrief_state_view(request, pk):
    """Mark the debrief complete (closing the incident becomes possible) or reopen it."""
    incident = incident_get(user=request.user, pk=pk)
    debrief = debriefs.debrief_get_or_open(incident=incident)
    try:
        if request.POST.get("do") == "reopen":
            debriefs.debrief_reopen(debrief=debrief, actor=request.user)
            messages.success(request, _("Debrief reopened: the incident cannot be closed until it is complete again."))
        else:
            debriefs.debrief_complete(debrief=debrief, actor=request.user)
            messages.success(request, _("Debrief complete: the commander can now close the incident."))
    except ValidationError as error:
        return render(
            request,
            "playbooks/debrief/debrief.html",
            _debrief_context(request, incident, error=" ".join(error.messages)),
            status=400,
        )
    return redirect("debrief", pk=incident.pk)


# ---- Leadership review


# ---- Follow-ups


def _follow_up_list_context(request, errors=None):
    now = timezone.now()
    base = FollowUp.objects.filter(incident__organization=request.user.organization).select_related(
        "incident", "client", "owner", "closed_by", "response__invitation__contact"
    )
    mine = request.GET.get("mine") == "1"
    if mine:
        base = base.filter(owner=request.user)
    rows = follow_up_rows(
        user=request.user, follow_ups=base.filter(closed_at__isnull=True).order_by("due_at", "id"), now=now
    )
    for row in rows:
        row["error"] = (errors or {}).get(row["follow_up"].pk, "")
    return {
        "section": "follow_ups",
        "mine": mine,
        "open": rows,
        "closed": list(base.filter(closed_at__isnull=False).order_by("-closed_at")[:50]),
        "errors": errors or {},
    }


@member_required
def follow_up_list_view(request):
    """Every follow-up of the organisation: open ones first, overdue marked."""
    return render(request, "playbooks/debrief/follow_ups.html", _follow_up_list_context(request))


@member_required
@require_POST
def follow_up_close_view(request, pk):
    follow_up = get_object_or_404(
        FollowUp.objects.select_related("incident"), pk=pk, incident__organization=request.user.organization
    )
    try:
        debriefs.follow_up_close(follow_up=follow_up, actor=request.user, note=request.POST.get("note", ""))
    except ValidationError as error:
        context = _follow_up_list_context(request, errors={follow_up.pk: " ".join(error.messages)})
        return render(request, "playbooks/debrief/follow_ups.html", context, status=400)
    messages.success(request, _("Follow-up with %(client)s closed.") % {"client": follow_up.client.name})
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("follow_up_list")
