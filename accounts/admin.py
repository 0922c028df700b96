"""Admin for organisations, members, client accounts and contacts, with CSV import and export of contacts.

Tenancy: an installation operator (a superuser without an organisation) sees every organisation;
everyone else sees and changes only their own organisation's rows, on every page. An organisation's
admin (role admin, staff) may use every organisation-scoped page without Django permissions; the
other pages (tokens, task rows, login attempts) are the operator's."""

from functools import wraps

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard

from .importing import COLUMNS, contacts_export_csv, import_job_report, import_job_start
from .models import ClientAccount, Contact, ImportJob, JargonTerm, Organization, Role, User

IMPORT_FILE_MAX_BYTES = 5 * 1024 * 1024


def is_operator(user):
    """Someone who runs the installation: a superuser belonging to no organisation sees every tenant."""
    return user.is_active and user.is_superuser and user.organization_id is None


def is_organization_admin(user):
    return user.is_active and user.is_staff and user.organization_id is not None and user.role == Role.ADMIN


def organizations_visible_to(user):
    """The operator sees every organisation; a member only their own; anyone else none."""
    if is_operator(user):
        return Organization.objects.all()
    return Organization.objects.filter(pk=user.organization_id) if user.organization_id else Organization.objects.none()


def organization_path_of(model):
    """The lookup from a model to its organisation ("organization", "client__organization"), or None.

    Actors (foreign keys to users) are not followed: who did something says nothing of whose it is."""
    if model is Organization:
        return "pk"
    frontier = [(model, "")]
    for _ in range(3):
        reachable = []
        for current, prefix in frontier:
            for field in current._meta.get_fields():
                if not (field.many_to_one and field.concrete) or field.related_model is User:
                    continue
                if field.related_model is Organization:
                    return prefix + field.name
                reachable.append((field.related_model, f"{prefix}{field.name}__"))
        frontier = reachable
    return None


def scoped_to_user(queryset, user, organization_path=None):
    """The rows of `queryset` the user may see: all for the operator, their organisation's otherwise."""
    if is_operator(user):
        return queryset
    organization_path = organization_path or organization_path_of(queryset.model)
    if organization_path is None:
        return queryset
    if not user.organization_id:
        return queryset.none()
    lookup = "pk" if organization_path == "pk" else f"{organization_path}_id"
    return queryset.filter(**{lookup: user.organization_id})


class OrganizationScopedMixin:
    """Scopes an admin page, its foreign-key choices and its filters to the member's organisation.

    `organization_path` is the lookup from the model to its organisation (found on its own when
    left empty). Another organisation's object is a 404, whatever the view (change, delete,
    history, password)."""

    organization_path = None

    def get_queryset(self, request):
        return scoped_to_user(
            super().get_queryset(request), request.user, self.organization_path or organization_path_of(self.model)
        )

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.model._meta.verbose_name} with this id.")
        return obj

    def get_list_filter(self, request):
        # A plain related filter lists every organisation's rows by name; show only those on this page.
        return [
            (name, admin.RelatedOnlyFieldListFilter) if isinstance(name, str) and self._is_relation(name) else name
            for name in super().get_list_filter(request)
        ]

    def _is_relation(self, lookup):
        model = self.model
        field = None
        for part in lookup.split("__"):
            field = model._meta.get_field(part)
            if not field.is_relation:
                return False
            model = field.related_model
        return field is not None and field.is_relation

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped_to_user(db_field.related_model._default_manager.all(), request.user)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.related_model is Organization and request.user.organization_id:
            field.initial = request.user.organization_id
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped_to_user(db_field.related_model._default_manager.all(), request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # Whatever the form said, a member's rows stay in the member's organisation.
        if not is_operator(request.user) and request.user.organization_id:
            if isinstance(obj, Organization):
                if obj.pk != request.user.organization_id:
                    raise PermissionDenied
            elif any(field.name == "organization" for field in obj._meta.concrete_fields):
                obj.organization_id = request.user.organization_id
        super().save_model(request, obj, form, change)

    def has_module_permission(self, request):
        return is_organization_admin(request.user) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return is_organization_admin(request.user) or super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return is_organization_admin(request.user) or super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return is_organization_admin(request.user) or super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_organization_admin(request.user) or super().has_delete_permission(request, obj)


class OrganizationScopedAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    """Staff who belong to an organisation see only its rows; the operator sees all.

    Every app's admin of rows that belong to an organisation builds on this one."""

    organization_path = "organization"


class ReadOnlyAdmin(OrganizationScopedAdmin):
    """Records of what happened: listed and read, never added, changed or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    """The operator adds and removes organisations; a member's admin edits only their own."""

    organization_path = "pk"
    list_display = ["name", "slug", "country", "timezone", "default_language", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def has_add_permission(self, request):
        return is_operator(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_operator(request.user)


# Only the operator grants superuser, groups and permissions, or moves a member to another organisation.
OPERATOR_ONLY_USER_FIELDS = {"is_superuser", "groups", "user_permissions", "organization"}


@admin.register(User)
class UserAdmin(OrganizationScopedMixin, DjangoUserAdmin):
    organization_path = "organization"
    list_display = ["username", "first_name", "last_name", "email", "organization", "role", "is_staff", "is_active"]
    list_filter = ["organization", "role", "is_staff", "is_superuser", "is_active"]
    list_select_related = ["organization"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Candor", {"fields": ["organization", "role", "phone"]}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Candor", {"fields": ["organization", "role", "phone"]}))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_operator(request.user):
            return fieldsets
        # On an existing member the organisation is shown, read-only.
        hidden = OPERATOR_ONLY_USER_FIELDS - {"organization"} if obj is not None else OPERATOR_ONLY_USER_FIELDS
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not is_operator(request.user):
            readonly.append("organization")
        return readonly

    def save_model(self, request, obj, form, change):
        if not is_operator(request.user):
            obj.organization_id = request.user.organization_id
            if not change:
                obj.is_superuser = False
        super().save_model(request, obj, form, change)


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
    organization = forms.ModelChoiceField(label=gettext_lazy("Organisation"), queryset=Organization.objects.none())
    file = forms.FileField(
        label=gettext_lazy("File"), help_text=gettext_lazy("UTF-8 CSV with the columns listed above.")
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("Dry run"),
        required=False,
        help_text=gettext_lazy("Check the file and show what would change; write nothing."),
    )
    import_valid_rows = forms.BooleanField(
        label=gettext_lazy("Import valid rows"),
        required=False,
        help_text=gettext_lazy("Import the valid rows even if other rows have errors; those are skipped."),
    )

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        if organizations.count() == 1:
            self.fields["organization"].initial = organizations.get()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_FILE_MAX_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than %(megabytes)s MB.")
                % {"megabytes": IMPORT_FILE_MAX_BYTES // (1024 * 1024)}
            )
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
            ),
            path(
                "import/<int:job_id>/",
                self.admin_site.admin_view(self.import_job_view),
                name="accounts_clientaccount_import_job",
            ),
        ]
        return urls + super().get_urls()

    def import_contacts_view(self, request):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        organizations = organizations_visible_to(request.user)
        if request.method == "POST":
            form = ContactImportForm(request.POST, request.FILES, organizations=organizations)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                job = import_job_start(
                    organization=form.cleaned_data["organization"],
                    actor=request.user,
                    csv_file=upload.read(),
                    file_name=upload.name or "",
                    dry_run=form.cleaned_data["dry_run"],
                    import_valid_rows=form.cleaned_data["import_valid_rows"],
                )
                # 202: accepted, running in the background; the page follows the job.
                return self._import_page(
                    request, form=ContactImportForm(organizations=organizations), job=job, status=202
                )
        else:
            form = ContactImportForm(organizations=organizations)
        return self._import_page(request, form=form)

    def import_job_view(self, request, job_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = ImportJob.objects.filter(pk=job_id, organization__in=organizations_visible_to(request.user)).first()
        if job is None:
            raise Http404("No such import.")
        return self._import_page(
            request, form=ContactImportForm(organizations=organizations_visible_to(request.user)), job=job
        )

    def _import_page(self, request, *, form, job=None, status=200):
        report = import_job_report(job) if job is not None else None
        job_url = reverse("admin:accounts_clientaccount_import_job", args=[job.pk]) if job else ""
        if job is not None and request.headers.get("HX-Request"):
            # htmx polling the running job: only the job's part of the page.
            context = {"job": job, "job_url": job_url, "report": report}
            return TemplateResponse(request, "admin/accounts/_import_job.html", context)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Import contacts from CSV"),
            "form": form,
            "job": job,
            "job_url": job_url,
            "report": report,
            "columns": COLUMNS,
        }
        return TemplateResponse(request, "admin/accounts/import_contacts.html", context, status=status)


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


def operator_only(view):
    """A third-party admin page about the whole installation (task queues): the operator's alone."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not is_operator(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded


class OperatorQueueAdmin(QueueAdmin):
    """django-rq's dashboard lists and deletes every tenant's jobs: only the operator opens it."""

    def has_module_permission(self, request):
        return is_operator(request.user)

    def has_view_permission(self, request, obj=None):
        return is_operator(request.user)

    def changelist_view(self, request, extra_context=None):
        return operator_only(super().changelist_view)(request, extra_context)

    def get_urls(self):
        # The JSON and metrics views keep their own token authentication; the rest is the operator's.
        return [
            URLPattern(url.pattern, operator_only(url.callback), url.default_args, url.name)
            if url.name and not url.name.endswith(("home_json", "metrics"))
            else url
            for url in super().get_urls()
        ]


if admin.site.is_registered(Dashboard):
    admin.site.unregister(Dashboard)
    admin.site.register(Dashboard, OperatorQueueAdmin)
