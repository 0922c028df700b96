"""Who: organisations (the tenants), their members and roles, client accounts and their contacts."""

import zoneinfo

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Languages Candor writes messages in. A contact's language outside this list falls back
# to the client's, then the playbook's default, then English.
LANGUAGES = [
    ("en", gettext_lazy("English")),
    ("de", gettext_lazy("German")),
    ("fr", gettext_lazy("French")),
    ("es", gettext_lazy("Spanish")),
    ("pt-br", gettext_lazy("Portuguese (Brazil)")),
    ("it", gettext_lazy("Italian")),
    ("nl", gettext_lazy("Dutch")),
    ("ja", gettext_lazy("Japanese")),
]
LANGUAGE_CODES = {code for code, _ in LANGUAGES}


def validate_language(value):
    if value and value not in LANGUAGE_CODES:
        raise ValidationError(
            gettext_lazy("Unknown language %(value)s; use one of %(codes)s."),
            code="unknown_language",
            params={"value": repr(value), "codes": ", ".join(sorted(LANGUAGE_CODES))},
        )


def validate_timezone(value):
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(
            gettext_lazy("Unknown timezone %(value)s; use an IANA name like Europe/Berlin."),
            code="unknown_timezone",
            params={"value": repr(value)},
        )


def normalize_phone(value, *, region=None):
    """Parse a phone number and return it in E.164, or raise ValidationError."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("Invalid phone number %(value)s: %(problem)s.") % {"value": repr(value), "problem": exc}
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Invalid phone number %(value)s.") % {"value": repr(value)})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Organization(models.Model):
    """A company that uses Candor to keep its own business clients informed."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    country = models.CharField(max_length=2, help_text="ISO 3166 code, e.g. DE; used for business days.")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    default_language = models.CharField(max_length=8, default="en", validators=[validate_language])
    sms_help_text = models.CharField(
        max_length=300,
        blank=True,
        help_text="Answer to an SMS 'HELP': who is writing and how to reach a person.",
    )
    created_at = models.DateTimeField(default=now)

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", gettext_lazy("Admin")
    COMMANDER = "commander", gettext_lazy("Incident commander")
    COMMUNICATOR = "communicator", gettext_lazy("Communicator")
    LEADERSHIP = "leadership", gettext_lazy("Leadership")


class User(AbstractUser):
    """A member of an organisation. Superusers may have no organisation (operators of Candor)."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, for urgent internal alerts.")
    # The console and team notices speak the member's language (blank: the browser's, then English)
    # and show times in the member's timezone (blank: the organisation's).
    language = models.CharField(max_length=8, blank=True, choices=settings.LANGUAGES)
    timezone = models.CharField(max_length=64, blank=True, validators=[validate_timezone])

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="member_has_role_with_organization",
                condition=models.Q(organization__isnull=True) | ~models.Q(role=""),
            )
        ]

    def clean(self):
        super().clean()
        if self.phone:
            self.phone = normalize_phone(self.phone)

    @property
    def can_run_incidents(self):
        return self.organization_id is not None and self.role in (Role.ADMIN, Role.COMMANDER)

    @property
    def can_draft_updates(self):
        return self.organization_id is not None and self.role in (
            Role.ADMIN,
            Role.COMMANDER,
            Role.COMMUNICATOR,
        )

    def can_run_incidents_of(self, organization_id):
        return self.is_active and self.can_run_incidents and self.organization_id == organization_id


class Tier(models.TextChoices):
    STRATEGIC = "strategic", gettext_lazy("Strategic")
    KEY = "key", gettext_lazy("Key")
    STANDARD = "standard", gettext_lazy("Standard")


class ClientAccount(models.Model):
    """A business client of the organisation: who a crisis may affect."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="clients")
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166 code, e.g. DE.")
    default_language = models.CharField(max_length=8, default="en", validators=[validate_language])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.STANDARD)
    tags = models.JSONField(
        default=list,
        blank=True,
        help_text='Products, services and regions this client uses, e.g. ["api", "eu-west"].',
    )
    account_owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_clients"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="unique_client_name_per_org")]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        self.country = (self.country or "").upper()
        if self.country and self.country not in phonenumbers.SUPPORTED_REGIONS:
            raise ValidationError(
                {
                    "country": ValidationError(
                        gettext_lazy("Unknown country %(value)s; use an ISO code like DE."),
                        code="unknown_country",
                        params={"value": repr(self.country)},
                    )
                }
            )
        if not isinstance(self.tags, list) or not all(isinstance(tag, str) for tag in self.tags):
            raise ValidationError({"tags": _("Tags must be a list of words.")})
        if self.account_owner_id and self.account_owner.organization_id != self.organization_id:
            raise ValidationError({"account_owner": _("The account owner must belong to the organisation.")})


class Seniority(models.TextChoices):
    STAFF = "staff", gettext_lazy("Staff")
    MANAGER = "manager", gettext_lazy("Manager")
    EXECUTIVE = "executive", gettext_lazy("Executive")


class SmsConsent(models.TextChoices):
    UNKNOWN = "unknown", gettext_lazy("Not asked")
    GRANTED = "granted", gettext_lazy("Granted")
    OPTED_OUT = "opted_out", gettext_lazy("Opted out")


class EmailStatus(models.TextChoices):
    OK = "ok", gettext_lazy("OK")
    BOUNCED = "bounced", gettext_lazy("Bounced (hard)")
    COMPLAINED = "complained", gettext_lazy("Marked as spam")


class Contact(models.Model):
    """A person at a client who receives crisis updates."""

    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, default=Seniority.STAFF)
    email = models.EmailField(blank=True)
    email_status = models.CharField(max_length=20, choices=EmailStatus.choices, default=EmailStatus.OK)
    phone = models.CharField(max_length=20, blank=True, help_text="Mobile number, stored as E.164.")
    language = models.CharField(
        max_length=8, blank=True, validators=[validate_language], help_text="Blank: the client's."
    )
    timezone = models.CharField(
        max_length=64, blank=True, validators=[validate_timezone], help_text="Blank: the client's."
    )
    accepts_email = models.BooleanField(default=True)
    accepts_sms = models.BooleanField(default=False)
    sms_consent = models.CharField(max_length=20, choices=SmsConsent.choices, default=SmsConsent.UNKNOWN)
    sms_consent_at = models.DateTimeField(null=True, blank=True)
    sms_opted_out_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client__name", "name"]
        indexes = [models.Index(fields=["phone"])]

    def __str__(self):
        return f"{self.name} ({self.client})"

    def clean(self):
        super().clean()
        if self.phone:
            self.phone = normalize_phone(self.phone, region=self.client.country if self.client_id else None)
        if self.email:
            self.email = self.email.strip().lower()
        if not self.email and not self.phone:
            raise ValidationError(_("A contact needs an email address or a mobile number."))
        if self.accepts_sms and not self.phone:
            raise ValidationError({"accepts_sms": _("A contact who accepts SMS needs a mobile number.")})

    @property
    def effective_language(self):
        return self.language or self.client.default_language

    @property
    def effective_timezone(self):
        return self.timezone or self.client.timezone

    @property
    def can_receive_sms(self):
        return self.is_active and self.accepts_sms and bool(self.phone) and self.sms_consent == SmsConsent.GRANTED

    @property
    def can_receive_email(self):
        return self.is_active and self.accepts_email and bool(self.email) and self.email_status == EmailStatus.OK

    def grant_sms_consent(self, *, at):
        self.sms_consent = SmsConsent.GRANTED
        self.sms_consent_at = at
        self.sms_opted_out_at = None

    def opt_out_of_sms(self, *, at):
        self.sms_consent = SmsConsent.OPTED_OUT
        self.sms_opted_out_at = at


class JargonTerm(models.Model):
    """A word the organisation's clients may not know, with the plain words to say instead.

    The plain-language check flags these terms in update drafts; blank language means every language.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="jargon_terms")
    term = models.CharField(max_length=100)
    plain_words = models.CharField(max_length=300, help_text="What to say instead, in plain words.")
    language = models.CharField(
        max_length=8, blank=True, validators=[validate_language], help_text="Blank: every language."
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["term"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "term", "language"], name="unique_jargon_term_per_org_language"
            )
        ]

    def __str__(self):
        return f"{self.term} -> {self.plain_words}"

    def clean(self):
        super().clean()
        self.term = (self.term or "").strip()
        if not self.term:
            raise ValidationError({"term": _("Give the word or phrase to avoid.")})


class ImportStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Queued")
    RUNNING = "running", gettext_lazy("Running")
    DONE = "done", gettext_lazy("Done")
    FAILED = "failed", gettext_lazy("Failed")


class ImportJob(models.Model):
    """A CSV import of clients and contacts run in the background: the file, where it stands, and
    its report. The row (file included) is the truth, so a restarted worker picks the job up again."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    file_name = models.CharField(max_length=200, blank=True)
    content = models.BinaryField(help_text="The uploaded file, as sent.")
    dry_run = models.BooleanField(default=False)
    import_valid_rows = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    # Progress while it runs: rows checked so far (committed every CANDOR_IMPORT_PROGRESS_EVERY rows);
    # the checked rows are then written in one transaction, all or nothing.
    rows_checked = models.PositiveIntegerField(default=0)
    report = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Import {self.pk} ({self.get_status_display().lower()})"
