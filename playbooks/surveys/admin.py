"""Admin for the survey's extra questions per playbook. Answers,
follow-ups and debriefs are edited on their own pages, where the rules about who may do what live."""

from django.contrib import admin

from accounts.admin import OrganizationScopedAdmin
from playbooks.models import Playbook, SurveyQuestion


@admin.register(SurveyQuestion)
class SurveyQuestionAdmin(OrganizationScopedAdmin):
    """Staff of an organisation see and choose only its playbooks; superusers without one see all."""

    list_display = ["__str__", "playbook", "kind", "position", "is_active"]
    list_filter = ["kind", "is_active", "playbook__kind"]
    search_fields = ["texts", "playbook__name"]
    fields = ["playbook", "position", "kind", "texts", "is_active"]

    organization_path = "playbook__organization"
    list_select_related = ["playbook"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "playbook" and request.user.organization_id:
            kwargs["queryset"] = Playbook.objects.filter(organization_id=request.user.organization_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
