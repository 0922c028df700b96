"""Admin for the survey's extra questions per playbook (registered by playbooks/admin.py). Answers,
follow-ups and debriefs are edited on their own pages, where the rules about who may do what live."""

from django.contrib import admin

from playbooks.models import Playbook, SurveyQuestion


@admin.register(SurveyQuestion)
class SurveyQuestionAdmin(admin.ModelAdmin):
    """Staff of an organisation see and choose only its playbooks; superusers without one see all."""

    list_display = ["__str__", "playbook", "kind", "position", "is_active"]
    list_filter = ["kind", "is_active", "playbook__kind"]
    search_fields = ["texts", "playbook__name"]
    fields = ["playbook", "position", "kind", "texts", "is_active"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("playbook")
        if request.user.organization_id:
            return queryset.filter(playbook__organization_id=request.user.organization_id)
        return queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "playbook" and request.user.organization_id:
            kwargs["queryset"] = Playbook.objects.filter(organization_id=request.user.organization_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
