"""Admin for the read-only records of what the promise and deadline timers did."""

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from playbooks.models import DeadlineAlert, PromiseEvent


@admin.register(PromiseEvent)
class PromiseEventAdmin(ReadOnlyAdmin):
    organization_path = "incident__organization"
    list_display = ["at", "incident", "update", "kind", "note"]
    list_filter = ["kind"]


@admin.register(DeadlineAlert)
class DeadlineAlertAdmin(ReadOnlyAdmin):
    organization_path = "item__incident__organization"
    list_display = ["at", "item", "kind", "superseded"]
    list_filter = ["kind", "superseded"]
