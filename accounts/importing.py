"""CSV import and export of an organisation's client accounts and their contacts.

One row per contact; the client columns repeat on each row (or stay empty after the first row
naming the client). A row whose contact columns are all empty only creates or updates the client.
On an existing client or contact, an empty cell keeps the stored value; a new client needs its
country, language and timezone. SMS consent is never granted again to a contact who opted out.
"""

import csv
import io
import logging
from dataclasses import dataclass, field
from typing import NamedTuple

import phonenumbers
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.timezone import now
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from candor.helpers import csv_cell_read, csv_writer, enqueue_task

from .models import ClientAccount, Contact, ImportJob, ImportStatus, SmsConsent, normalize_phone

logger = logging.getLogger(__name__)

CLIENT_COLUMNS = [
    "client_name",
    "client_country",
    "client_language",
    "client_timezone",
    "client_tier",
    "client_tags",
]
CONTACT_COLUMNS = [
    "contact_name",
    "contact_title",
    "contact_seniority",
    "contact_email",
    "contact_phone",
    "contact_language",
    "contact_timezone",
    "contact_channels",
    "contact_sms_consent",
]
COLUMNS = CLIENT_COLUMNS + CONTACT_COLUMNS
REQUIRED_COLUMNS = ["client_name", "contact_name"]
CHANNELS = ("email", "sms")
LIST_SEPARATOR = ";"

CLIENT_FIELD_COLUMNS = {
    "name": "client_name",
    "country": "client_country",
    "default_language": "client_language",
    "timezone": "client_timezone",
    "tier": "client_tier",
    "tags": "client_tags",
}
CONTACT_FIELD_COLUMNS = {
    "name": "contact_name",
    "title": "contact_title",
    "seniority": "contact_seniority",
    "email": "contact_email",
    "phone": "contact_phone",
    "language": "contact_language",
    "timezone": "contact_timezone",
    "accepts_email": "contact_channels",
    "accepts_sms": "contact_channels",
    "sms_consent": "contact_sms_consent",
}
CLIENT_TRACKED_FIELDS = ["name", "country", "default_language", "timezone", "tier", "tags"]
CONTACT_TRACKED_FIELDS = [
    "name",
    "title",
    "seniority",
    "email",
    "phone",
    "language",
    "timezone",
    "accepts_email",
    "accepts_sms",
    "sms_consent",
]


# What can be wrong in a file, by code: English words with placeholders, worded in the reader's
# language when the report is shown (the admin and the API), in English by the command.
ROW_PROBLEMS = {
    "not_utf8": gettext_noop("The file is not UTF-8 text; save it as 'CSV UTF-8'."),
    "nul_characters": gettext_noop(
        "The file contains NUL characters, so it is not a text CSV; export it again as 'CSV UTF-8'."
    ),
    "not_csv": gettext_noop("The file is not valid CSV: %(problem)s."),
    "empty_file": gettext_noop("The file is empty; it needs a header row."),
    "unknown_column": gettext_noop("Unknown column %(column)s; the columns are %(columns)s."),
    "repeated_column": gettext_noop("Column %(column)s appears more than once."),
    "missing_column": gettext_noop("Missing column %(column)s."),
    "too_many_values": gettext_noop("The row has more values than the header has columns (%(count)s)."),
    "client_name_missing": gettext_noop("A client name is required."),
    "client_refused_elsewhere": gettext_noop(
        "Client %(client)s is new and row %(row)s, which gives its details, has errors."
    ),
    "client_detail_differs": gettext_noop("%(given)s differs from %(stored)s given on row %(row)s."),
    "unknown_country": gettext_noop("Unknown country %(value)s; use an ISO code like DE."),
    "required_for_new_client": gettext_noop("Required for a new client."),
    "invalid_phone": gettext_noop("Invalid phone number %(value)s."),
    "unknown_channel": gettext_noop("Unknown channel %(value)s; use email, sms or both."),
    "unknown_sms_consent": gettext_noop("Unknown SMS consent %(value)s; use %(choices)s."),
    "same_contact": gettext_noop("The same contact as on row %(row)s."),
    "opted_out": gettext_noop("This contact opted out of SMS; only the contact can opt in again, not an import."),
}


class RowError(NamedTuple):
    """One problem in the file. Row 1 is the header, as a spreadsheet numbers it.

    Kept as a code and its values, and worded when shown. A field's own validation (an email
    address, a language) keeps its English words with placeholders as `template` instead.
    """

    row: int
    column: str  # empty when the problem concerns the whole row
    code: str
    params: dict = {}
    template: str = ""  # English words with placeholders, when the code is not one of ROW_PROBLEMS

    @property
    def message(self):
        """The problem in the active language."""
        words = _(self.template or ROW_PROBLEMS.get(self.code, self.code))
        return words % self.params if self.params else words

    def as_dict(self):
        data = {"row": self.row, "column": self.column, "code": self.code, "params": self.params}
        if self.template:
            data["template"] = self.template
        return data

    @classmethod
    def from_stored(cls, stored):
        """A stored error: a dict, or a [row, column, message] list as reports before codes kept it."""
        if isinstance(stored, dict):
            return cls(
                stored["row"], stored["column"], stored["code"], stored.get("params") or {}, stored.get("template", "")
            )
        row, column, message = stored
        return cls(row, column, "", {}, message)

    def __str__(self):
        return f"row {self.row}, {self.column}: {self.message}" if self.column else f"row {self.row}: {self.message}"


@dataclass
class ImportReport:
    """What an import did, or would do in a dry run, and why rows were refused."""

    dry_run: bool
    import_valid_rows: bool
    rows_total: int = 0
    rows_valid: int = 0
    clients_created: int = 0
    clients_updated: int = 0
    clients_unchanged: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    contacts_unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    file_is_unreadable: bool = False
    imported: bool = False

    @property
    def rows_with_errors(self):
        return sorted({error.row for error in self.errors if error.row > 1})

    @property
    def is_blocked(self):
        """True when errors stop the import (or would, in a dry run)."""
        if self.file_is_unreadable:
            return True
        if not self.errors:
            return False
        return not self.import_valid_rows or self.rows_valid == 0

    def as_dict(self):
        """The report as JSON-ready data (kept on an ImportJob)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "errors"}
        data["errors"] = [error.as_dict() for error in self.errors]
        return data

    @classmethod
    def from_dict(cls, data):
        values = {name: value for name, value in data.items() if name in cls.__dataclass_fields__}
        values["errors"] = [RowError.from_stored(error) for error in data.get("errors", [])]
        return cls(**values)

    def summary(self):
        """What the import did, in the active language: the reader's in the admin and the API, the
        command's English (settings.LANGUAGE_CODE)."""
        counts = _(
            "Clients: %(clients_created)s created, %(clients_updated)s updated, %(clients_unchanged)s unchanged. "
            "Contacts: %(contacts_created)s created, %(contacts_updated)s updated, %(contacts_unchanged)s unchanged."
        ) % {
            "clients_created": self.clients_created,
            "clients_updated": self.clients_updated,
            "clients_unchanged": self.clients_unchanged,
            "contacts_created": self.contacts_created,
            "contacts_updated": self.contacts_updated,
            "contacts_unchanged": self.contacts_unchanged,
        }
        lines = [
            ngettext("%(total)s row read, %(valid)s valid.", "%(total)s rows read, %(valid)s valid.", self.rows_total)
            % {"total": self.rows_total, "valid": self.rows_valid}
        ]
        bad_rows = len(self.rows_with_errors)
        if self.is_blocked:
            if self.file_is_unreadable:
                lines.append(_("Nothing imported: fix the file's format or header first."))
            elif self.rows_valid == 0:
                lines.append(_("Nothing imported: %(rows)s with errors and none valid.") % {"rows": _rows(bad_rows)})
            else:
                lines.append(
                    _("Nothing imported: %(rows)s with errors. Fix them, or import only the valid rows.")
                    % {"rows": _rows(bad_rows)}
                )
            return "\n".join(lines)
        if self.dry_run:
            lines.append(_("Dry run, nothing written. The import would do this: %(counts)s") % {"counts": counts})
        else:
            lines.append(_("Imported. %(counts)s") % {"counts": counts})
        if bad_rows:
            skipped = ", ".join(str(row) for row in self.rows_with_errors)
            if self.dry_run:
                lines.append(_("Would skip rows with errors: %(rows)s.") % {"rows": skipped})
            else:
                lines.append(_("Skipped rows with errors: %(rows)s.") % {"rows": skipped})
        return "\n".join(lines)


def contacts_import(*, organization, csv_file, dry_run=False, import_valid_rows=False, progress=None):
    """Create or update the organisation's clients and contacts from a CSV file.

    `csv_file` is a text stream, a str or UTF-8 bytes (with or without a BOM). Every row is
    validated first; if any row has an error nothing is written, unless `import_valid_rows` is
    set, in which case only the valid rows are written. A dry run validates and counts but never
    writes. Everything is written in one transaction, after every row was checked.
    `progress(rows_checked, rows_total)`, when given, is called before the first row, every
    CANDOR_IMPORT_PROGRESS_EVERY rows and after the last, outside any transaction of the import's.
    """
    report = ImportReport(dry_run=dry_run, import_valid_rows=import_valid_rows)
    rows = _read_rows(csv_file, report)
    if rows is None:
        report.file_is_unreadable = True
        return report
    every = max(1, settings.CANDOR_IMPORT_PROGRESS_EVERY)
    # Checking only reads, so progress can be committed between rows; writing is one transaction.
    if progress is not None:
        progress(0, len(rows))
    plan = _ImportPlan(organization=organization, report=report)
    for done, (row_number, values, problems) in enumerate(rows, start=1):
        plan.add_row(row_number, values, problems)
        if progress is not None and (done % every == 0 or done == len(rows)):
            progress(done, len(rows))
    report.rows_valid = len(plan.valid_rows)
    if report.is_blocked:
        return report
    plan.count_changes()
    if not dry_run:
        with transaction.atomic():
            plan.write()
        report.imported = True
    return report


def import_job_start(*, organization, actor, csv_file, file_name="", dry_run=False, import_valid_rows=False):
    """Keep the file in a job and import it in the background (task queue "default"): an import of
    any allowed size outlives the request. Returns the job; its report comes when it is done."""
    from .tasks import import_job_task  # the task module imports this one

    with transaction.atomic():
        job = ImportJob.objects.create(
            organization=organization,
            created_by=actor,
            file_name=file_name[:200],
            content=csv_file,
            dry_run=dry_run,
            import_valid_rows=import_valid_rows,
        )
        enqueue_task(import_job_task, job_id=job.pk)
    return job


def import_job_run(*, job_id):
    """Run a job's import, all or nothing as contacts_import is. A job left running by a dead worker
    runs again (its import had rolled back); a finished one is left alone."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (ImportStatus.DONE, ImportStatus.FAILED):
            return None
        job.status, job.started_at, job.rows_checked = ImportStatus.RUNNING, now(), 0
        job.save(update_fields=["status", "started_at", "rows_checked"])

    def progress(rows_checked, rows_total):
        # Its own short transaction (an autocommitted UPDATE): the console and the API see it at once.
        ImportJob.objects.filter(pk=job.pk).update(rows_checked=rows_checked, rows_total=rows_total)

    try:
        report = contacts_import(
            organization=job.organization,
            csv_file=bytes(job.content),
            dry_run=job.dry_run,
            import_valid_rows=job.import_valid_rows,
            progress=progress,
        )
    except Exception:
        logger.exception("Import job %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, finished_at=now())
        raise
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.DONE, report=report.as_dict(), rows_total=report.rows_total, finished_at=now()
    )
    return report


def import_job_report(job):
    """The finished job's ImportReport, or None while it runs."""
    return ImportReport.from_dict(job.report) if job.report is not None else None


def contacts_export_csv(*, clients):
    """The given clients and their contacts as CSV in the import's columns, ready to re-import."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(COLUMNS)
    for client in clients.prefetch_related("contacts").order_by("name"):
        client_values = [
            client.name,
            client.country,
            client.default_language,
            client.timezone,
            client.tier,
            LIST_SEPARATOR.join(client.tags),
        ]
        contacts = list(client.contacts.all())
        if not contacts:
            writer.writerow(client_values + [""] * len(CONTACT_COLUMNS))
        for contact in contacts:
            channels = [
                name for name, accepted in [("email", contact.accepts_email), ("sms", contact.accepts_sms)] if accepted
            ]
            writer.writerow(
                [
                    *client_values,
                    contact.name,
                    contact.title,
                    contact.seniority,
                    contact.email,
                    contact.phone,
                    contact.language,
                    contact.timezone,
                    LIST_SEPARATOR.join(channels),
                    contact.sms_consent,
                ]
            )
    return buffer.getvalue()


def _read_rows(csv_file, report):
    """Check the header; return [(row_number, {column: value}, [RowError])], or None if the file is unusable."""
    text = csv_file if isinstance(csv_file, (str, bytes)) else csv_file.read()
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            report.errors.append(RowError(1, "", "not_utf8"))
            return None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        report.errors.append(RowError(1, "", "nul_characters"))
        return None
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        report.errors.append(RowError(1, "", "not_csv", {"problem": str(exc)}))
        return None
    if not records:
        report.errors.append(RowError(1, "", "empty_file"))
        return None

    header = [name.strip().lower() for name in records[0]]
    while header and not header[-1]:
        header.pop()  # spreadsheets like to add empty trailing columns
    for name in dict.fromkeys(header):
        if name not in COLUMNS:
            report.errors.append(
                RowError(1, name, "unknown_column", {"column": repr(name), "columns": ", ".join(COLUMNS)})
            )
        elif header.count(name) > 1:
            report.errors.append(RowError(1, name, "repeated_column", {"column": repr(name)}))
    for name in REQUIRED_COLUMNS:
        if name not in header:
            report.errors.append(RowError(1, name, "missing_column", {"column": repr(name)}))
    if report.errors:
        report.rows_total = sum(1 for record in records[1:] if any(cell.strip() for cell in record))
        return None

    rows = []
    for row_number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines keep their number, so later rows match the spreadsheet
        report.rows_total += 1
        values = dict.fromkeys(COLUMNS, "")
        # A short row (trailing empty cells dropped by a spreadsheet) leaves its last columns empty.
        values.update(zip(header, (csv_cell_read(cell.strip()) for cell in record), strict=False))
        problems = []
        if any(cell.strip() for cell in record[len(header) :]):
            problems.append(RowError(row_number, "", "too_many_values", {"count": len(header)}))
        rows.append((row_number, values, problems))
    return rows


class _ImportPlan:
    """The clients and contacts the file describes, validated row by row against the database."""

    def __init__(self, *, organization, report):
        self.organization = organization
        self.report = report
        self.valid_rows = []  # (client_key, contact or None), in file order
        self.clients = {}  # casefolded name -> ClientAccount (stored or new), as valid rows left it
        self.client_originals = {}  # casefolded name -> tracked values before the import
        self.client_defined_on = {}  # casefolded name -> row that first gave the client's details
        self.client_refused_on = {}  # casefolded name -> first refused row giving a new client's details
        self.contact_originals = {}  # contact pk -> tracked values before the import
        self.contacts_claimed = {}  # id(contact) -> row that matched or created it
        self.new_contacts = {}  # casefolded client name -> contacts created by earlier rows
        self.stored_clients = {
            client.name.casefold(): client for client in ClientAccount.objects.filter(organization=organization)
        }
        self.stored_contacts = {}  # casefolded client name -> list of stored contacts
        for contact in Contact.objects.filter(client__organization=organization).select_related("client"):
            self.stored_contacts.setdefault(contact.client.name.casefold(), []).append(contact)

    def add_row(self, row_number, values, problems):
        errors = list(problems)
        client_key = values["client_name"].casefold()
        client = self._client_for_row(row_number, values, errors)
        contact = None
        if any(values[column] for column in CONTACT_COLUMNS):
            contact = self._contact_for_row(row_number, values, client, errors)
        has_details = any(values[column] for column in CLIENT_COLUMNS[1:])
        if errors:
            self.report.errors.extend(errors)
            if client_key not in self.clients and client_key not in self.stored_clients and has_details:
                self.client_refused_on.setdefault(client_key, row_number)
            return
        self.clients[client_key] = client
        if has_details:
            self.client_defined_on.setdefault(client_key, row_number)
        if contact is not None:
            self.contacts_claimed[id(contact)] = row_number
            if contact.pk is None and contact not in self.new_contacts.get(client_key, []):
                self.new_contacts.setdefault(client_key, []).append(contact)
        self.valid_rows.append((client_key, contact))

    def _client_for_row(self, row_number, values, errors):
        """The client this row names, with the row's client columns applied to a working copy."""
        name = values["client_name"]
        if not name:
            errors.append(RowError(row_number, "client_name", "client_name_missing"))
            return None
        key = name.casefold()
        known = self.clients.get(key) or self.stored_clients.get(key)
        if known is not None:
            client = _copy(known)
            if client.pk is not None:
                self.client_originals.setdefault(key, _tracked(client, CLIENT_TRACKED_FIELDS))
        else:
            has_details = any(values[column] for column in CLIENT_COLUMNS[1:])
            if not has_details and key in self.client_refused_on:
                errors.append(
                    RowError(
                        row_number,
                        "client_name",
                        "client_refused_elsewhere",
                        {"client": repr(name), "row": self.client_refused_on[key]},
                    )
                )
                return None
            client = ClientAccount(organization=self.organization, name=name, default_language="", timezone="")

        client_errors = []
        if key in self.client_defined_on:
            # Another row already set this client's details: this row may repeat them, not change them.
            for field_name in ("country", "default_language", "timezone", "tier"):
                column = CLIENT_FIELD_COLUMNS[field_name]
                given = _client_value(field_name, values[column])
                if given and given != getattr(client, field_name):
                    client_errors.append(
                        RowError(
                            row_number,
                            column,
                            "client_detail_differs",
                            {
                                "given": repr(given),
                                "stored": repr(getattr(client, field_name)),
                                "row": self.client_defined_on[key],
                            },
                        )
                    )
            tags = _split(values["client_tags"])
            if tags and tags != client.tags:
                client_errors.append(
                    RowError(
                        row_number,
                        "client_tags",
                        "client_detail_differs",
                        {
                            "given": repr(values["client_tags"]),
                            "stored": repr(LIST_SEPARATOR.join(client.tags)),
                            "row": self.client_defined_on[key],
                        },
                    )
                )
        else:
            for field_name in ("country", "default_language", "timezone", "tier"):
                given = _client_value(field_name, values[CLIENT_FIELD_COLUMNS[field_name]])
                if given:
                    setattr(client, field_name, given)
            if values["client_tags"]:
                client.tags = _split(values["client_tags"])
            if client.country and client.country not in phonenumbers.SUPPORTED_REGIONS:
                client_errors.append(
                    RowError(row_number, "client_country", "unknown_country", {"value": repr(client.country)})
                )
            for field_name in ("country", "default_language", "timezone"):
                if not getattr(client, field_name):
                    column = CLIENT_FIELD_COLUMNS[field_name]
                    client_errors.append(RowError(row_number, column, "required_for_new_client"))
            if not client_errors:
                client_errors += _validation_errors(
                    client, row_number, CLIENT_FIELD_COLUMNS, exclude=["organization", "account_owner"]
                )
        if client_errors:
            errors.extend(client_errors)
            return None
        return client

    def _contact_for_row(self, row_number, values, client, errors):
        """The contact this row describes (stored or new) with the row applied, or None on errors."""
        row_errors = []
        email = values["contact_email"].lower()
        phone = values["contact_phone"]
        # Without a valid client there is no region to read a national number with.
        is_phone_checked = client is not None
        if phone and client is not None:
            try:
                phone = normalize_phone(phone, region=client.country)
            except ValidationError:
                row_errors.append(RowError(row_number, "contact_phone", "invalid_phone", {"value": repr(phone)}))
                is_phone_checked = False
        if not is_phone_checked:
            phone = ""
        channels = _split(values["contact_channels"].lower())
        for channel in channels:
            if channel not in CHANNELS:
                row_errors.append(RowError(row_number, "contact_channels", "unknown_channel", {"value": repr(channel)}))
        consent = values["contact_sms_consent"].lower()
        if consent and consent not in SmsConsent.values:
            row_errors.append(
                RowError(
                    row_number,
                    "contact_sms_consent",
                    "unknown_sms_consent",
                    {"value": repr(consent), "choices": ", ".join(SmsConsent.values)},
                )
            )
            consent = ""

        match = None
        if client is not None:
            match = self._matching_contact(client, email=email, phone=phone)
        if match is not None and id(match) in self.contacts_claimed:
            row_errors.append(
                RowError(
                    row_number,
                    "contact_email" if email else "contact_phone",
                    "same_contact",
                    {"row": self.contacts_claimed[id(match)]},
                )
            )
            errors.extend(row_errors)
            return None

        if match is not None:
            contact = _copy(match)
            self.contact_originals.setdefault(contact.pk, _tracked(contact, CONTACT_TRACKED_FIELDS))
        else:
            contact = Contact(sms_consent=SmsConsent.UNKNOWN)
        contact.client = client
        contact.name = values["contact_name"]
        for field_name in ("title", "seniority", "language", "timezone"):
            given = values[CONTACT_FIELD_COLUMNS[field_name]]
            if given:
                setattr(contact, field_name, given.lower() if field_name in ("seniority", "language") else given)
        if email:
            contact.email = email
        if phone:
            contact.phone = phone
        if channels:
            contact.accepts_email = "email" in channels
            contact.accepts_sms = "sms" in channels
        if consent and consent != contact.sms_consent:
            if contact.sms_consent == SmsConsent.OPTED_OUT:
                row_errors.append(
                    RowError(
                        row_number,
                        "contact_sms_consent",
                        "opted_out",
                    )
                )
            elif consent == SmsConsent.GRANTED:
                contact.grant_sms_consent(at=now())
            elif consent == SmsConsent.OPTED_OUT:
                contact.opt_out_of_sms(at=now())
            else:
                contact.sms_consent = consent

        for error in _validation_errors(contact, row_number, CONTACT_FIELD_COLUMNS, exclude=["client"]):
            # A phone we could not read already has its error; "needs a mobile number" would repeat it.
            if is_phone_checked or error.column not in ("", "contact_channels"):
                row_errors.append(error)
        errors.extend(row_errors)
        if errors or client is None:
            return None  # the stored contact stays as it was, for the rows that follow
        if match is not None:
            _copy_into(match, contact)
            return match
        return contact

    def _matching_contact(self, client, *, email, phone):
        """The client's contact with this email, else with this phone: stored or created by an earlier row.

        A phone matches only where one side has no email: two different addresses are two people, and
        an import must not silently turn one into the other.
        """
        key = client.name.casefold()
        candidates = self.stored_contacts.get(key, []) + self.new_contacts.get(key, [])
        if email:
            for contact in candidates:
                if contact.email == email:
                    return contact
        if phone:
            for contact in candidates:
                if contact.phone == phone and not (email and contact.email):
                    return contact
        return None

    def count_changes(self):
        report = self.report
        seen_clients, seen_contacts = set(), set()
        for client_key, contact in self.valid_rows:
            client = self.clients[client_key]
            if client_key not in seen_clients:
                seen_clients.add(client_key)
                if client.pk is None:
                    report.clients_created += 1
                elif _tracked(client, CLIENT_TRACKED_FIELDS) != self.client_originals[client_key]:
                    report.clients_updated += 1
                else:
                    report.clients_unchanged += 1
            if contact is not None and id(contact) not in seen_contacts:
                seen_contacts.add(id(contact))
                if contact.pk is None:
                    report.contacts_created += 1
                elif _tracked(contact, CONTACT_TRACKED_FIELDS) != self.contact_originals[contact.pk]:
                    report.contacts_updated += 1
                else:
                    report.contacts_unchanged += 1

    def write(self):
        saved_clients, saved_contacts = set(), set()
        for client_key, contact in self.valid_rows:
            client = self.clients[client_key]
            if client_key not in saved_clients:
                saved_clients.add(client_key)
                stored = self.stored_clients.get(client_key)
                if stored is not None:
                    _copy_into(stored, client)
                    client = stored
                    self.clients[client_key] = stored
                if client.pk is None or _tracked(client, CLIENT_TRACKED_FIELDS) != self.client_originals[client_key]:
                    client.save()
            if contact is not None and id(contact) not in saved_contacts:
                saved_contacts.add(id(contact))
                contact.client = self.clients[client_key]
                if (
                    contact.pk is None
                    or _tracked(contact, CONTACT_TRACKED_FIELDS) != self.contact_originals[contact.pk]
                ):
                    contact.save()


def _client_value(field_name, value):
    if field_name == "country":
        return value.upper()
    if field_name in ("default_language", "tier"):
        return value.lower()
    return value


def _rows(count):
    return ngettext("%(count)s row", "%(count)s rows", count) % {"count": count}


def _split(value):
    return [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]


def _tracked(instance, field_names):
    return {name: getattr(instance, name) for name in field_names}


def _copy(instance):
    """A working copy, so that a row with errors leaves the planned state untouched."""
    copy = type(instance)()
    _copy_into(copy, instance)
    return copy


def _copy_into(target, source):
    for model_field in source._meta.concrete_fields:
        value = getattr(source, model_field.attname)
        setattr(target, model_field.attname, list(value) if isinstance(value, list) else value)
    target._state.adding = source._state.adding
    target._state.db = source._state.db
    if isinstance(source, Contact):
        target.client = source.client


def _validation_errors(instance, row_number, field_columns, *, exclude):
    """Run the model's full_clean and turn its errors into row errors named after the file's columns,
    each keeping its English words and values so that it is worded in the reader's language when shown."""
    try:
        with translation.override("en"):
            instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return [
            _field_row_error(
                row_number, "" if field_name == NON_FIELD_ERRORS else field_columns.get(field_name, ""), error
            )
            for field_name, errors in exc.error_dict.items()
            for error in errors
        ]
    return []


def _field_row_error(row_number, column, error):
    with translation.override("en"):
        template = str(error.message)
    params = {
        name: value if isinstance(value, (int, float, str)) else str(value)
        for name, value in (error.params or {}).items()
    }
    return RowError(row_number, column, error.code or "invalid", params, template)
