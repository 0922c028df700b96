"""Admin for organisations, members, client accounts and contacts, with CSV import and export of contacts."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import slugify

from .importing import COLUMNS, contacts_export_csv, contacts_import
from .models import ClientAccount, Contact, JargonTerm, Organization, User

IMPORT_FILE_MAX_BYTES = 5 * 1024 * 1024


def organizations_visible_to(user):
    """Staff who belong to an organisation work in it; superusers without one see every organisation."""
    if user.organization_id:
        return Organization.objects.filter(pk=user.organization_id)
    return Organization.objects.all()


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Staff who belong to an organisation see only its rows; superusers without one see all.

    `organization_path` is the lookup from the model to its organisation. Every app's admin of
    rows that belong to an organisation builds on this one."""

    organization_path = "organization"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.organization_id:
            return queryset.filter(**{f"{self.organization_path}_id": request.user.organization_id})
        return queryset


class ReadOnlyAdmin(OrganizationScopedAdmin):
    """Records of what happened: listed and read, never added, changed or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "country", "timezone", "default_language", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "organization", "role", "is_staff", "is_active"]
    list_filter = ["organization", "role", "is_staff", "is_superuser", "is_active"]
    list_select_related = ["organization"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Candor", {"fields": ["organization", "role", "phone"]}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Candor", {"fields": ["organization", "role", "phone"]}))


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = [
        "name",
        "title",
        "seniority",
        "email",
        "phone",
        "language",
        "accepts_email",
        "accepts_sms",
        "sms_consent",
        "is_active",
    ]
    readonly_fields = ["sms_consent"]
    show_change_link = True


class ContactImportForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    file = forms.FileField(help_text=f"UTF-8 CSV with the columns: {', '.join(COLUMNS)}.")
    dry_run = forms.BooleanField(required=False, help_text="Check the file and show what would change; write nothing.")
    import_valid_rows = forms.BooleanField(
        required=False, help_text="Import the valid rows even if other rows have errors; those are skipped."
    )

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        if organizations.count() == 1:
            self.fields["organization"].initial = organizations.get()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_FILE_MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {IMPORT_FILE_MAX_BYTES // (1024 * 1024)} MB.")
        return upload


@admin.register(ClientAccount)
class ClientAccountAdmin(OrganizationScopedAdmin):
    change_list_template = "admin/accounts/clientaccount/change_list.html"
    list_display = [
        "name",
        "organization",
        "country",
        "default_language",
        "timezone",
        "tier",
        "account_owner",
        "contact_count",
    ]
    list_filter = ["organization", "country", "tier", "default_language"]
    list_select_related = ["organization", "account_owner"]
    search_fields = ["name", "contacts__name", "contacts__email"]
    autocomplete_fields = ["account_owner"]
    inlines = [ContactInline]
    actions = ["export_contacts_csv"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(contact_total=Count("contacts"))

    @admin.display(description="Contacts", ordering="contact_total")
    def contact_count(self, client):
        return client.contact_total

    @admin.action(description="Export contacts as CSV")
    def export_contacts_csv(self, request, queryset):
        slugs = sorted(set(queryset.values_list("organization__slug", flat=True)))
        filename = f"contacts-{slugify('-'.join(slugs))}.csv"
        # The byte order mark lets Excel read the file as UTF-8; the import accepts it.
        response = HttpResponse(
            "\ufeff" + contacts_export_csv(clients=queryset), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def get_urls(self):
        urls = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_contacts_view),
                name="accounts_clientaccount_import",
            )
        ]
        return urls + super().get_urls()

    def import_contacts_view(self, request):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        organizations = organizations_visible_to(request.user)
        report = None
        if request.method == "POST":
            form = ContactImportForm(request.POST, request.FILES, organizations=organizations)
            if form.is_valid():
                report = contacts_import(
                    organization=form.cleaned_data["organization"],
                    csv_file=form.cleaned_data["file"].read(),
                    dry_run=form.cleaned_data["dry_run"],
                    import_valid_rows=form.cleaned_data["import_valid_rows"],
                )
                if report.imported and not report.errors:
                    self.message_user(request, report.summary(), messages.SUCCESS)
                    return redirect(reverse("admin:accounts_clientaccount_changelist"))
                if report.imported:
                    self.message_user(
                        request, "Imported the valid rows; the rows below were skipped.", messages.WARNING
                    )
                elif report.is_blocked:
                    self.message_user(request, "Nothing was imported; see the errors below.", messages.ERROR)
                else:
                    self.message_user(request, "Dry run: nothing was written.", messages.INFO)
        else:
            form = ContactImportForm(organizations=organizations)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import contacts from CSV",
            "form": form,
            "report": report,
            "columns": COLUMNS,
        }
        return TemplateResponse(request, "admin/accounts/import_contacts.html", context)


@admin.register(Contact)
class ContactAdmin(OrganizationScopedAdmin):
    organization_path = "client__organization"
    list_display = [
        "name",
        "client",
        "title",
        "seniority",
        "email",
        "email_status",
        "phone",
        "language",
        "sms_consent",
        "is_active",
    ]
    list_filter = [
        "client__organization",
        "seniority",
        "sms_consent",
        "email_status",
        "accepts_email",
        "accepts_sms",
        "is_active",
        "client__country",
    ]
    list_select_related = ["client"]
    search_fields = ["name", "email", "phone", "title", "client__name"]
    autocomplete_fields = ["client"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(JargonTerm)
class JargonTermAdmin(OrganizationScopedAdmin):
    list_display = ["term", "plain_words", "language", "organization"]
    list_filter = ["organization", "language"]
    search_fields = ["term", "plain_words"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization":
            kwargs["queryset"] = organizations_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
