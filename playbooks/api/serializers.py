"""Serializers of the REST API: how resources look, and the input each action takes.

Input serializers only parse and check shape; the services decide (and their ValidationErrors come
back as 400s with field errors).
"""

import copy
import re

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from accounts.importing import import_job_report
from accounts.models import LANGUAGE_CODES, ClientAccount, Contact, ImportJob, SmsConsent, User, normalize_phone
from comms.models import Message
from comms.rendering import MessageTemplateError, render_text
from playbooks.console.selectors import delivery_counts_by_update, update_status
from playbooks.models import (
    Debrief,
    DebriefActionItem,
    FollowUp,
    InboundAlert,
    Incident,
    IncidentChecklistItem,
    IncidentUpdate,
    Playbook,
    PlaybookStage,
    Severity,
    SurveyResponse,
    TimelineEntry,
)


def organization_of(serializer):
    return serializer.context["request"].user.organization


def api_errors(error):
    """A Django ValidationError as the API's field errors ("non_field_errors" for the whole object)."""
    errors = serializers.as_serializer_error(error)
    if NON_FIELD_ERRORS in errors:
        errors[api_settings.NON_FIELD_ERRORS_KEY] = errors.pop(NON_FIELD_ERRORS)
    return errors


class ModelCleanMixin:
    """Run the model's own validation (clean, field validators, unique constraints) and keep what
    clean() normalised (E.164 phone numbers, lower-case email)."""

    def full_clean_attrs(self, attrs, model, **fixed):
        instance = copy.copy(self.instance) if self.instance is not None else model()
        for name, value in {**attrs, **fixed}.items():
            setattr(instance, name, value)
        try:
            instance.full_clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(api_errors(error)) from None
        return {name: getattr(instance, name) for name in attrs}


# ---------------------------------------------------------------------------------------------
# Errors, for the schema


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What happened, naming the incident's state now and what is missing.")
    state = serializers.CharField(allow_null=True, help_text="The incident's state now.")
    missing = serializers.ListField(
        child=serializers.CharField(),
        help_text="What the refused step still waits for, in plain words (empty when nothing would help).",
    )


# ---------------------------------------------------------------------------------------------
# Playbooks


class PlaybookStageSerializer(serializers.ModelSerializer):
    languages = serializers.SerializerMethodField(help_text="Languages with prepared words for updates.")

    class Meta:
        model = PlaybookStage
        fields = ["stage", "cadence_minutes", "needs_approval", "auto_holding_statement", "languages"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_languages(self, stage):
        return sorted({message.language for message in stage.messages.all() if message.purpose == "update"})


class PlaybookSerializer(serializers.ModelSerializer):
    stages = PlaybookStageSerializer(many=True, read_only=True)
    audience_tags = serializers.ListField(child=serializers.CharField())
    audience_countries = serializers.ListField(child=serializers.CharField())
    content_rules = serializers.SerializerMethodField()

    class Meta:
        model = Playbook
        fields = [
            "id",
            "kind",
            "name",
            "slug",
            "version",
            "is_active",
            "description",
            "default_severity",
            "default_language",
            "audience_all_clients",
            "audience_tags",
            "audience_countries",
            "requires_authority_notification",
            "content_rules",
            "stages",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "required_phrases": {"type": "array", "items": {}},
                "banned_words": {"type": "array", "items": {"type": "string"}},
            },
        }
    )
    def get_content_rules(self, playbook):
        return playbook.content_rules or {}


# ---------------------------------------------------------------------------------------------
# Clients and contacts


class ClientAccountSerializer(ModelCleanMixin, serializers.ModelSerializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    account_owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), required=False, allow_null=True)

    class Meta:
        model = ClientAccount
        fields = [
            "id",
            "name",
            "country",
            "default_language",
            "timezone",
            "tier",
            "tags",
            "account_owner",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        validators = []  # (organization, name) is checked by the model with the caller's organisation

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["account_owner"].queryset = User.objects.filter(organization_id=request.user.organization_id)

    def validate(self, attrs):
        organization = organization_of(self)
        name = attrs.get("name")
        if (
            name
            and ClientAccount.objects.filter(organization=organization, name=name)
            .exclude(pk=getattr(self.instance, "pk", None))
            .exists()
        ):
            raise serializers.ValidationError({"name": ["A client with this name already exists."]})
        return self.full_clean_attrs(attrs, ClientAccount, organization=organization)


class ContactSerializer(ModelCleanMixin, serializers.ModelSerializer):
    client = serializers.PrimaryKeyRelatedField(queryset=ClientAccount.objects.none())
    sms_consent = serializers.ChoiceField(
        choices=SmsConsent.choices,
        required=False,
        help_text="Set to granted when the contact agreed to SMS. A contact who opted out can only opt "
        "back in themselves (by replying START).",
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "client",
            "name",
            "title",
            "seniority",
            "email",
            "email_status",
            "phone",
            "language",
            "timezone",
            "accepts_email",
            "accepts_sms",
            "sms_consent",
            "sms_consent_at",
            "sms_opted_out_at",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["email_status", "sms_consent_at", "sms_opted_out_at", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["client"].queryset = ClientAccount.objects.filter(organization_id=request.user.organization_id)

    def validate(self, attrs):
        if attrs.get("phone"):
            client = attrs.get("client") or getattr(self.instance, "client", None)
            try:
                attrs["phone"] = normalize_phone(attrs["phone"], region=client.country if client else None)
            except DjangoValidationError as error:
                raise serializers.ValidationError({"phone": error.messages}) from None
        consent = attrs.pop("sms_consent", None)
        current = self.instance.sms_consent if self.instance else SmsConsent.UNKNOWN
        fixed = {}
        if consent is not None and consent != current:
            if current == SmsConsent.OPTED_OUT:
                raise serializers.ValidationError(
                    {"sms_consent": "This contact opted out of SMS; only they can opt back in (by replying START)."}
                )
            fixed["sms_consent"] = consent
            if consent == SmsConsent.GRANTED:
                fixed["sms_consent_at"] = timezone.now()
            elif consent == SmsConsent.OPTED_OUT:
                fixed["sms_opted_out_at"] = timezone.now()
        cleaned = self.full_clean_attrs(attrs, Contact, **fixed)
        return {**cleaned, **fixed}


class ContactImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, UTF-8, one row per contact (see the admin's import page).")
    dry_run = serializers.BooleanField(default=False, help_text="Check and count, write nothing.")
    import_valid_rows = serializers.BooleanField(
        default=False, help_text="Import the valid rows even when others have errors."
    )

    def validate_file(self, file):
        if file.size > 5 * 1024 * 1024:
            raise serializers.ValidationError("The file is larger than 5 MB; split it.")
        return file


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField(allow_blank=True)
    code = serializers.CharField(
        help_text="What is wrong, for programs: e.g. unknown_column, invalid_phone, or a field validation's code."
    )
    params = serializers.DictField(help_text="The values the message names (a column, a row, the value given).")
    message = serializers.CharField(help_text="The problem in words, in the request's language.")


class ImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    import_valid_rows = serializers.BooleanField()
    imported = serializers.BooleanField()
    blocked = serializers.BooleanField(source="is_blocked")
    rows_total = serializers.IntegerField()
    rows_valid = serializers.IntegerField()
    clients_created = serializers.IntegerField()
    clients_updated = serializers.IntegerField()
    clients_unchanged = serializers.IntegerField()
    contacts_created = serializers.IntegerField()
    contacts_updated = serializers.IntegerField()
    contacts_unchanged = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)
    summary = serializers.SerializerMethodField()

    def get_summary(self, report) -> str:
        return report.summary()


class ImportJobSerializer(serializers.ModelSerializer):
    """A background import: queued, running (rows_checked of rows_total, then the checked rows are
    written in one transaction), then done with its report (or failed)."""

    rows_checked = serializers.IntegerField(
        read_only=True, help_text="Rows checked so far; equal to rows_total while the rows are written."
    )

    url = serializers.SerializerMethodField()
    report = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "url",
            "status",
            "file_name",
            "dry_run",
            "import_valid_rows",
            "rows_total",
            "rows_checked",
            "created_at",
            "started_at",
            "finished_at",
            "report",
        ]
        read_only_fields = fields

    def get_url(self, job) -> str:
        return f"/api/contacts/import/{job.pk}/"

    @extend_schema_field(ImportReportSerializer(allow_null=True))
    def get_report(self, job):
        report = import_job_report(job)
        return None if report is None else ImportReportSerializer(report).data


# ---------------------------------------------------------------------------------------------
# Incidents


class ChecklistItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = IncidentChecklistItem
        fields = [
            "id",
            "position",
            "title",
            "description",
            "guidance",
            "due_at",
            "completed_at",
            "completed_by",
            "completion_note",
        ]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(read_only=True)
    is_live = serializers.BooleanField(read_only=True)
    is_public = serializers.BooleanField(read_only=True)
    affected_tags = serializers.ListField(child=serializers.CharField())
    affected_countries = serializers.ListField(child=serializers.CharField())
    checklist = ChecklistItemSerializer(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "kind",
            "playbook",
            "playbook_version",
            "title",
            "summary",
            "severity",
            "state",
            "state_label",
            "is_live",
            "commander",
            "backup_commander",
            "detected_at",
            "affected_clients",
            "affected_tags",
            "affected_countries",
            "resolution_summary",
            "next_update_due_at",
            "is_public",
            "created_at",
            "activated_at",
            "resolved_at",
            "closed_at",
            "cancelled_at",
            "checklist",
        ]
        read_only_fields = fields


class IncidentEditSerializer(serializers.Serializer):
    """The fields of an incident that can change while it runs; only those given change."""

    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, help_text="1 critical ... 4 low.")
    backup_commander = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), required=False, allow_null=True)
    is_public = serializers.BooleanField(required=False, help_text="Show on the organisation's public status page.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["backup_commander"].queryset = User.objects.filter(organization_id=request.user.organization_id)


class IncidentCreateSerializer(serializers.Serializer):
    """A draft incident from a playbook; activate it with the `activate` transition."""

    playbook = serializers.PrimaryKeyRelatedField(queryset=Playbook.objects.none())
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(
        choices=Severity.choices,
        required=False,
        allow_null=True,
        help_text="1 critical ... 4 low; empty: the playbook's default.",
    )
    summary = serializers.CharField(required=False, allow_blank=True, default="")
    backup_commander = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), required=False, allow_null=True)
    detected_at = serializers.DateTimeField(required=False, allow_null=True)
    affected_clients = serializers.PrimaryKeyRelatedField(
        queryset=ClientAccount.objects.none(), many=True, required=False
    )
    affected_tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    affected_countries = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z]{2}$", max_length=2), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            organization_id = request.user.organization_id
            self.fields["playbook"].queryset = Playbook.objects.filter(organization_id=organization_id)
            self.fields["backup_commander"].queryset = User.objects.filter(organization_id=organization_id)
            self.fields["affected_clients"].child_relation.queryset = ClientAccount.objects.filter(
                organization_id=organization_id
            )


class IncidentScopeSerializer(serializers.Serializer):
    """The incident's new scope; a field left out keeps its current value."""

    affected_clients = serializers.PrimaryKeyRelatedField(
        queryset=ClientAccount.objects.none(), many=True, required=False
    )
    affected_tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    affected_countries = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z]{2}$", max_length=2), required=False
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Only say who would be added or removed; change nothing."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["affected_clients"].child_relation.queryset = ClientAccount.objects.filter(
                organization_id=request.user.organization_id
            )


class ScopeClientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ScopeContactSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    name = serializers.CharField()
    client = serializers.CharField()


class ScopeChangeSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    clients_added = ScopeClientSerializer(many=True)
    clients_removed = ScopeClientSerializer(many=True)
    contacts_added = ScopeContactSerializer(many=True)
    contacts_removed = ScopeContactSerializer(many=True)
    messages_queued = serializers.IntegerField(help_text="The latest published update, sent to contacts new in scope.")
    incident = IncidentSerializer()


class IncidentPublicSerializer(serializers.Serializer):
    is_public = serializers.BooleanField()


class AcknowledgementSerializer(serializers.Serializer):
    """One client's answer to one stage's request: who confirmed, when and how; or pending."""

    acknowledgement_id = serializers.IntegerField()
    client_id = serializers.IntegerField()
    client_name = serializers.CharField()
    stage = serializers.CharField()
    request = serializers.CharField(help_text="What the client was asked, in the playbook's language.")
    requested_at = serializers.DateTimeField()
    is_confirmed = serializers.BooleanField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    confirmed_by = serializers.CharField(help_text="The contact who confirmed; empty while pending.")
    confirmed_via = serializers.CharField(help_text="page or sms; empty while pending.")
    reminded_at = serializers.DateTimeField(allow_null=True)
    escalated_at = serializers.DateTimeField(allow_null=True)


class TransitionSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    target = serializers.CharField()
    needs = serializers.ListField(child=serializers.CharField(), help_text="Inputs the transition asks for.")
    ready = serializers.BooleanField(help_text="Whether it can be taken now (given its inputs).")
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="What it still waits for, in plain words; empty when ready."
    )
    waits_for = serializers.CharField(
        allow_blank=True, help_text="What must happen first (refused with 409 until then); empty when nothing."
    )


class TransitionRequestSerializer(serializers.Serializer):
    transition = serializers.CharField(max_length=50, help_text="A name from the incident's transitions list.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    resolution_summary = serializers.CharField(
        required=False, allow_blank=True, max_length=10000, help_text="Required to resolve or complete."
    )


class AudienceClientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField()
    language = serializers.CharField()
    contacts = serializers.IntegerField()
    email = serializers.IntegerField()
    sms = serializers.IntegerField()


class AudienceLanguageSerializer(serializers.Serializer):
    language = serializers.CharField()
    email_recipients = serializers.IntegerField()
    sms_recipients = serializers.IntegerField()
    sms_segments = serializers.IntegerField(help_text="Segments of one SMS, for a typical reader.")
    sms_encoding = serializers.CharField(allow_blank=True)
    sms_messages = serializers.IntegerField(help_text="SMS segments billed for this language.")


class SmsSendSerializer(serializers.Serializer):
    segments_per_second = serializers.FloatField()
    seconds = serializers.IntegerField(help_text="Estimated time for every SMS to leave.")
    duration = serializers.CharField()
    queue_limit_hours = serializers.FloatField()
    exceeds_queue_limit = serializers.BooleanField()


class UnreachableSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    name = serializers.CharField()
    client = serializers.CharField()
    reason = serializers.CharField()


class LanguageFallbackSerializer(serializers.Serializer):
    language = serializers.CharField(help_text="The contacts' own language.")
    falls_back_to = serializers.CharField(help_text="The language they get instead.")
    contacts = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField()


class AudiencePreviewSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text="The stage whose prepared words were counted.")
    clients = AudienceClientSerializer(many=True)
    contacts = serializers.IntegerField()
    email_recipients = serializers.IntegerField()
    sms_recipients = serializers.IntegerField()
    languages = AudienceLanguageSerializer(many=True)
    sms_segments_total = serializers.IntegerField()
    sms_send = SmsSendSerializer()
    unreachable = UnreachableSerializer(many=True)
    has_texts = serializers.BooleanField()
    language_fallbacks = LanguageFallbackSerializer(many=True, help_text="A warning, never a block.")


class TimelineEntrySerializer(serializers.ModelSerializer):
    data = serializers.DictField()

    class Meta:
        model = TimelineEntry
        fields = ["id", "incident", "at", "actor", "kind", "from_state", "to_state", "note", "data"]
        read_only_fields = fields


# ---------------------------------------------------------------------------------------------
# Updates


class UpdateTextSerializer(serializers.Serializer):
    email_subject = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    email_body = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    sms_body = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


def validate_texts(texts):
    """Known languages and message templates that render; the service checks the rest."""
    errors = {}
    for language, fields in texts.items():
        if fields is None:
            continue  # a partial edit removing the language
        if language not in LANGUAGE_CODES:
            errors[language] = [f"Unknown language; use one of {', '.join(sorted(LANGUAGE_CODES))}."]
            continue
        for name, value in fields.items():
            try:
                render_text(value or "", {})
            except MessageTemplateError as error:
                errors.setdefault(language, []).append(f"{name}: {error}")
    if errors:
        raise serializers.ValidationError(errors)
    return texts


class DeliveryCountsSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    total = serializers.IntegerField()


class UpdateSerializer(serializers.ModelSerializer):
    texts = serializers.DictField(child=UpdateTextSerializer(), help_text="Words per language.")
    status = serializers.SerializerMethodField()
    needs_approval = serializers.BooleanField(read_only=True)
    is_approved = serializers.BooleanField(read_only=True)
    is_published = serializers.BooleanField(read_only=True)
    audience = serializers.DictField(help_text="Counts at publish time.")
    delivery = serializers.SerializerMethodField()

    class Meta:
        model = IncidentUpdate
        fields = [
            "id",
            "incident",
            "stage",
            "author",
            "texts",
            "is_holding_statement",
            "next_update_due_at",
            "status",
            "needs_approval",
            "is_approved",
            "approver",
            "approved_at",
            "approval_note",
            "is_published",
            "published_at",
            "published_by",
            "audience",
            "delivery",
            "created_at",
        ]
        read_only_fields = fields

    def get_status(self, update) -> str:
        return update_status(update)

    @extend_schema_field(DeliveryCountsSerializer(allow_null=True))
    def get_delivery(self, update):
        cache = self.context.get("delivery_counts") or DeliveryCountCache()
        return cache.for_update(update)


class DeliveryCountCache:
    """Delivery counts per update, loaded once per incident while a list is serialised."""

    def __init__(self):
        self.counts = {}
        self.incidents = set()

    def for_update(self, update):
        if update.incident_id not in self.incidents:
            self.incidents.add(update.incident_id)
            self.counts.update(delivery_counts_by_update(incident=update.incident))
        return self.counts.get(update.pk)


class UpdateCreateSerializer(serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.none())
    texts = serializers.DictField(
        child=UpdateTextSerializer(), required=False, help_text="Empty: the playbook's words for the incident's stage."
    )
    next_update_due_at = serializers.DateTimeField(required=False, allow_null=True)
    is_holding_statement = serializers.BooleanField(default=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["incident"].queryset = Incident.objects.filter(organization_id=request.user.organization_id)

    def validate_texts(self, texts):
        return validate_texts(texts)


class UpdateEditSerializer(serializers.Serializer):
    """PATCH: only the languages and fields named change; a language given as null is removed."""

    texts = serializers.DictField(
        child=UpdateTextSerializer(allow_null=True),
        required=False,
        help_text="Per language, the fields to change; null removes the language. Languages not named stay.",
    )
    next_update_due_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_texts(self, texts):
        return validate_texts(texts)


class UpdateReplaceSerializer(serializers.Serializer):
    """PUT: the update's words and promise as a whole; languages left out are removed."""

    texts = serializers.DictField(child=UpdateTextSerializer(), help_text="Every language's words.")
    next_update_due_at = serializers.DateTimeField(allow_null=True, required=False, default=None)

    def validate_texts(self, texts):
        return validate_texts(texts)


class ApproveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class PreviewLanguageSerializer(serializers.Serializer):
    email_subject = serializers.CharField(allow_blank=True)
    email_body = serializers.CharField(allow_blank=True)
    sms_body = serializers.CharField(allow_blank=True)
    sms_encoding = serializers.CharField(allow_blank=True)
    sms_segments = serializers.IntegerField()
    email_recipients = serializers.IntegerField()
    sms_recipients = serializers.IntegerField()
    sms_messages = serializers.IntegerField()
    reader = serializers.CharField(help_text="Whose values fill the per-reader variables.")


class PreflightFindingSerializer(serializers.Serializer):
    problem = serializers.CharField()
    message = serializers.CharField()
    language = serializers.CharField(allow_blank=True)
    channel = serializers.CharField(allow_blank=True)
    field = serializers.CharField()
    is_blocking = serializers.BooleanField()
    text = serializers.CharField()


class UpdatePreviewSerializer(serializers.Serializer):
    next_update_due_at = serializers.DateTimeField(allow_null=True)
    preflight = PreflightFindingSerializer(many=True)
    languages = serializers.DictField(child=PreviewLanguageSerializer())
    email_recipients = serializers.IntegerField()
    sms_recipients = serializers.IntegerField()
    sms_segments_total = serializers.IntegerField()
    sms_send = SmsSendSerializer()
    unreachable = UnreachableSerializer(many=True)
    language_fallbacks = LanguageFallbackSerializer(many=True, help_text="A warning, never a block.")


class ReadabilitySerializer(serializers.Serializer):
    formula = serializers.CharField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    flagged = serializers.BooleanField()
    note = serializers.CharField()


class LongSentenceSerializer(serializers.Serializer):
    channel = serializers.CharField()
    length = serializers.IntegerField()
    unit = serializers.ChoiceField(choices=["words", "characters"])
    sentence = serializers.CharField()


class JargonHitSerializer(serializers.Serializer):
    term = serializers.CharField()
    plain_words = serializers.CharField()


class LanguageCheckSerializer(serializers.Serializer):
    language = serializers.CharField()
    readability = ReadabilitySerializer()
    long_sentences = LongSentenceSerializer(many=True)
    jargon = JargonHitSerializer(many=True)
    structure = serializers.DictField(
        child=serializers.DictField(child=serializers.BooleanField()),
        help_text="Per channel: what_happened, impact, action, next_update found or not.",
    )
    missing_phrases = serializers.ListField(child=serializers.CharField())
    banned_words = serializers.ListField(child=serializers.CharField())
    notes = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField(), help_text="Warnings never block publishing.")


class PlainLanguageCheckSerializer(serializers.Serializer):
    warning_count = serializers.IntegerField()
    languages = serializers.DictField(child=LanguageCheckSerializer())
    preflight = PreflightFindingSerializer(many=True)


# ---------------------------------------------------------------------------------------------
# Messages


NULLABLE_INT = {"type": "integer", "nullable": True}
_REFERENCE = re.compile(r"^(?P<prefix>[a-z_]+):(?P<id>\d+)$")


def reference_id(value, prefix):
    match = _REFERENCE.match(value or "")
    return int(match["id"]) if match and match["prefix"] == prefix else None


class MessageSerializer(serializers.ModelSerializer):
    recipient_name = serializers.SerializerMethodField()
    update = serializers.SerializerMethodField(help_text="The update this message carries, if any.")
    incident = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "contact",
            "recipient_name",
            "channel",
            "status",
            "update",
            "incident",
            "source",
            "to_address",
            "segments",
            "attempts",
            "error_code",
            "last_error",
            "queued_at",
            "sent_at",
            "delivered_at",
            "failed_at",
            "status_changed_at",
        ]
        read_only_fields = fields

    def get_recipient_name(self, message) -> str:
        return message.recipient_name

    @extend_schema_field(NULLABLE_INT)
    def get_update(self, message):
        return reference_id(message.source, "update")

    @extend_schema_field(NULLABLE_INT)
    def get_incident(self, message):
        return reference_id(message.topic, "incident")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


# ---------------------------------------------------------------------------------------------
# The internal debrief


class DebriefActionItemSerializer(serializers.ModelSerializer):
    is_done = serializers.SerializerMethodField()

    class Meta:
        model = DebriefActionItem
        fields = ["id", "description", "owner", "due_on", "done_at", "is_done", "created_at"]
        read_only_fields = fields

    def get_is_done(self, item) -> bool:
        return item.done_at is not None


class DebriefSerializer(serializers.ModelSerializer):
    is_complete = serializers.BooleanField(read_only=True)
    missing = serializers.SerializerMethodField(help_text="What must still be written before it can be complete.")
    action_items = DebriefActionItemSerializer(many=True, read_only=True)

    class Meta:
        model = Debrief
        fields = [
            "incident",
            "what_happened",
            "went_well",
            "went_badly",
            "is_complete",
            "missing",
            "completed_at",
            "completed_by",
            "updated_at",
            "updated_by",
            "action_items",
        ]
        read_only_fields = fields

    def get_missing(self, debrief) -> list[str]:
        return debrief.missing_for_completion()


class DebriefEditSerializer(serializers.Serializer):
    what_happened = serializers.CharField(required=False, allow_blank=True, max_length=50000)
    went_well = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    went_badly = serializers.CharField(required=False, allow_blank=True, max_length=20000)


class DebriefActionItemCreateSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=500)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), help_text="A member of the organisation.")
    due_on = serializers.DateField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["owner"].queryset = User.objects.filter(organization_id=request.user.organization_id)


class DebriefActionItemEditSerializer(serializers.Serializer):
    is_done = serializers.BooleanField()


# ---------------------------------------------------------------------------------------------
# Monitoring alerts and follow-ups


class AlertSerializer(serializers.ModelSerializer):
    endpoint_name = serializers.CharField(source="endpoint.name", read_only=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = InboundAlert
        fields = [
            "id",
            "endpoint",
            "endpoint_name",
            "fingerprint",
            "title",
            "severity",
            "summary",
            "status",
            "is_open",
            "is_firing",
            "first_received_at",
            "last_received_at",
            "resolved_at",
            "count",
            "incident",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class FollowUpSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "incident",
            "response",
            "client",
            "client_name",
            "owner",
            "reason",
            "opened_at",
            "due_at",
            "is_open",
            "is_overdue",
            "closed_at",
            "closed_by",
            "close_note",
        ]
        read_only_fields = fields

    def get_is_overdue(self, follow_up) -> bool:
        return follow_up.is_overdue_at(timezone.now())


class FollowUpAssignSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none(), help_text="A member of the organisation.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["owner"].queryset = User.objects.filter(organization_id=request.user.organization_id)


class FollowUpCloseSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=5000, help_text="What was done.")


# ---------------------------------------------------------------------------------------------
# Survey answers


class SurveyResponseSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)
    contact = serializers.IntegerField(source="invitation.contact_id", read_only=True)
    contact_name = serializers.CharField(source="invitation.contact.name", read_only=True)
    language = serializers.CharField(source="invitation.language", read_only=True)
    extra_answers = serializers.DictField(help_text="{question id: 1-5 or text}.")

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "incident",
            "client",
            "client_name",
            "contact",
            "contact_name",
            "language",
            "csat",
            "kept_informed",
            "clarity",
            "nps",
            "comment",
            "extra_answers",
            "csat_via",
            "first_answered_at",
            "page_submitted_at",
        ]
        read_only_fields = fields


# ---------------------------------------------------------------------------------------------
# Proof of notification


class ProofMessageSerializer(serializers.Serializer):
    message_id = serializers.IntegerField()
    what = serializers.CharField()
    channel = serializers.CharField()
    to_address = serializers.CharField(allow_blank=True)
    queued_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    provider = serializers.CharField(allow_blank=True)
    provider_message_id = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    consent_at_send = serializers.CharField(allow_blank=True)


class ProofContactSerializer(serializers.Serializer):
    contact_id = serializers.IntegerField()
    name = serializers.CharField()
    is_affected = serializers.BooleanField()
    was_reached = serializers.BooleanField()
    not_reached_reason = serializers.CharField(allow_blank=True)
    messages = ProofMessageSerializer(many=True)


class ProofAcknowledgementSerializer(serializers.Serializer):
    stage = serializers.CharField()
    requested_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    confirmed_by = serializers.CharField(allow_blank=True, help_text="The contact who confirmed.")
    confirmed_via = serializers.CharField(allow_blank=True, help_text="page or sms.")


class ProofClientSerializer(serializers.Serializer):
    client_id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField(allow_blank=True)
    acknowledgements = ProofAcknowledgementSerializer(many=True)
    contacts = ProofContactSerializer(many=True)


class ProofSerializer(serializers.Serializer):
    incident = serializers.IntegerField(source="incident.pk")
    generated_at = serializers.DateTimeField()
    contacts = serializers.IntegerField()
    messages = serializers.IntegerField()
    clients = ProofClientSerializer(many=True)


# ---------------------------------------------------------------------------------------------
# Leadership figures


class FiguresSerializer(serializers.Serializer):
    """The leadership page's figures for one group (all, a kind, a country, a month, an incident)."""

    key = serializers.CharField()
    label = serializers.CharField()
    incidents = serializers.IntegerField()
    first_notice_minutes = serializers.FloatField(allow_null=True)
    resolution_hours = serializers.FloatField(allow_null=True)
    updates_sent = serializers.IntegerField()
    promises = serializers.DictField(child=serializers.IntegerField(), help_text="kept, kept_late, holding, missed.")
    kept_on_time_share = serializers.FloatField(allow_null=True)
    contacts_affected = serializers.IntegerField()
    contacts_reached = serializers.IntegerField()
    reach = serializers.FloatField(allow_null=True)
    email = serializers.DictField(help_text="messages, reached, delivered, failed and their shares.")
    sms = serializers.DictField(help_text="messages, reached, delivered, failed and their shares.")
    invited = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)
    csat_average = serializers.FloatField(allow_null=True)
    kept_informed_average = serializers.FloatField(allow_null=True)
    clarity_average = serializers.FloatField(allow_null=True)
    nps = serializers.FloatField(allow_null=True)
    nps_answers = serializers.IntegerField()
    open_follow_ups = serializers.IntegerField()


class ClientFiguresSerializer(serializers.Serializer):
    client_id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField(allow_blank=True)
    contacts_affected = serializers.IntegerField()
    contacts_reached = serializers.IntegerField()
    reach = serializers.FloatField(allow_null=True)
    first_notice_minutes = serializers.FloatField(allow_null=True)
    invited = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)
    csat_average = serializers.FloatField(allow_null=True)
    nps = serializers.FloatField(allow_null=True)
    open_follow_ups = serializers.IntegerField()


class IncidentFiguresSerializer(FiguresSerializer):
    incident = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.CharField()
    detected_at = serializers.DateTimeField()
    month = serializers.CharField()
    clients = ClientFiguresSerializer(many=True)


class LeadershipSerializer(serializers.Serializer):
    months = serializers.CharField(help_text="The period: 3, 12, 36 or all.")
    since = serializers.DateTimeField(allow_null=True)
    total = FiguresSerializer()
    by_kind = FiguresSerializer(many=True)
    by_country = FiguresSerializer(many=True, help_text="Per client country.")
    by_month = FiguresSerializer(many=True)
    incidents = IncidentFiguresSerializer(many=True)


# ---------------------------------------------------------------------------------------------
# Playbooks as code


class PlaybookImportSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="The playbook in the YAML format of docs/playbooks-as-code.md.")
    dry_run = serializers.BooleanField(default=False, help_text="Check and show the diff; change nothing.")


class PlaybookImportProblemSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Where in the file, e.g. stages[2].messages.update.de.sms.")
    message = serializers.CharField()


class PlaybookImportResultSerializer(serializers.Serializer):
    slug = serializers.CharField()
    playbook = serializers.IntegerField(
        allow_null=True, help_text="The playbook's id (null on a dry run of a new one)."
    )
    created = serializers.BooleanField()
    changed = serializers.BooleanField()
    version = serializers.IntegerField(allow_null=True)
    dry_run = serializers.BooleanField()
    diff = serializers.CharField(allow_blank=True, help_text="Unified diff against the current version's export.")


class PlaybookImportErrorsSerializer(serializers.Serializer):
    problems = PlaybookImportProblemSerializer(many=True, required=False, help_text="Every problem in the file.")
    detail = serializers.CharField(
        required=False, help_text="A request refused before the file was read (e.g. a NUL byte in the body)."
    )
