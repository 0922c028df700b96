"""Admin for playbooks (editable data) and incidents (transitions only as the user may do them now)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _

from accounts.admin import OrganizationScopedAdmin
from playbooks.incidents.services import TransitionRefused, incident_create, incident_transition
from playbooks.models import (
    ChecklistItem,
    Incident,
    IncidentChecklistItem,
    Playbook,
    PlaybookStage,
    StageAcknowledgement,
    StageMessage,
    TimelineEntry,
)


class PlaybookStageInline(admin.TabularInline):
    model = PlaybookStage
    extra = 0
    show_change_link = True


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0


@admin.register(Playbook)
class PlaybookAdmin(OrganizationScopedAdmin):
    list_display = ["name", "kind", "version", "is_active", "organization", "updated_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [PlaybookStageInline, ChecklistItemInline]


class StageMessageInline(admin.StackedInline):
    model = StageMessage
    extra = 0


class StageAcknowledgementInline(admin.StackedInline):
    model = StageAcknowledgement
    extra = 0
    max_num = 1


@admin.register(PlaybookStage)
class PlaybookStageAdmin(OrganizationScopedAdmin):
    organization_path = "playbook__organization"
    list_display = ["playbook", "stage", "cadence_minutes", "needs_approval", "auto_holding_statement"]
    list_filter = ["playbook__kind", "needs_approval"]
    inlines = [StageMessageInline, StageAcknowledgementInline]


class IncidentChecklistInline(admin.TabularInline):
    model = IncidentChecklistItem
    extra = 0
    fields = ["title", "guidance", "due_at", "completed_at", "completed_by", "completion_note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0
    fields = ["at", "kind", "actor", "from_state", "to_state", "note"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(OrganizationScopedAdmin):
    list_display = ["__str__", "kind", "state", "severity", "commander", "detected_at"]
    list_filter = ["kind", "state", "severity"]
    search_fields = ["title", "summary"]
    filter_horizontal = ["affected_clients"]
    change_form_template = "admin/playbooks/incident/change_form.html"
    inlines = [IncidentChecklistInline, TimelineInline]

    def get_readonly_fields(self, request, obj=None):
        frozen = [
            "kind",
            "state",
            "playbook_version",
            "created_at",
            "activated_at",
            "resolved_at",
            "closed_at",
            "cancelled_at",
        ]
        if obj is not None:
            return [*frozen, "playbook", "organization", "detected_at"]
        return frozen

    def get_exclude(self, request, obj=None):
        return ["organization"] if obj is None else []

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        try:
            created = incident_create(
                playbook=obj.playbook,
                actor=request.user,
                title=obj.title,
                summary=obj.summary,
                severity=obj.severity,
                commander=obj.commander,
                backup_commander=obj.backup_commander,
                detected_at=obj.detected_at,
                affected_clients=form.cleaned_data.get("affected_clients", []),
                affected_tags=obj.affected_tags,
                affected_countries=obj.affected_countries,
            )
        except (ValidationError, PermissionDenied) as exc:
            raise PermissionDenied(str(exc)) from exc
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = created._state.db

    def get_urls(self):
        return [
            path(
                "<int:incident_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="playbooks_incident_transition",
            ),
            *super().get_urls(),
        ]

    def transition_view(self, request, incident_id, name):
        incident = get_object_or_404(self.get_queryset(request), pk=incident_id)
        if request.method != "POST":
            return redirect(reverse("admin:playbooks_incident_change", args=[incident.pk]))
        try:
            incident = incident_transition(
                incident=incident,
                name=name,
                actor=request.user,
                note=request.POST.get("note", ""),
                resolution_summary=request.POST.get("resolution_summary"),
            )
            messages.success(request, _("The incident is now: %(state)s.") % {"state": incident.state_label})
        except (TransitionRefused, PermissionDenied) as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect(reverse("admin:playbooks_incident_change", args=[incident.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        incident = self.get_object(request, object_id)
        if incident is not None:
            extra_context["available_transitions"] = incident.transitions_for(request.user)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(TimelineEntry)
class TimelineEntryAdmin(OrganizationScopedAdmin):
    """Read-only: the timeline is append-only."""

    organization_path = "incident__organization"
    list_display = ["at", "incident", "kind", "actor", "from_state", "to_state", "note"]
    list_filter = ["kind"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
