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

from accounts.models import LANGUAGE_CODES, ClientAccount, Contact, SmsConsent, User, normalize_phone
from comms.models import Message
from comms.rendering import MessageTemplateError, render_text
from playbooks.console.selectors import delivery_counts_by_update, update_status
from playbooks.incidents.topics import incident_id_from_topic
from playbooks.models import (
    Incident,
    IncidentChecklistItem,
    IncidentUpdate,
    Playbook,
    PlaybookStage,
    Severity,
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
    detail = serializers.CharField(help_text="What happened, naming the incident's state now.")
    state = serializers.CharField(allow_null=True, help_text="The incident's state now.")


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
    message = serializers.CharField()


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
            "created_at",
            "activated_at",
            "resolved_at",
            "closed_at",
            "cancelled_at",
            "checklist",
        ]
        read_only_fields = fields


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


class TransitionSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    target = serializers.CharField()
    needs = serializers.ListField(child=serializers.CharField(), help_text="Inputs the transition asks for.")
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
        return incident_id_from_topic(message.topic)
