"""The CSV import of clients and contacts: the service, the management command and the admin page."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.urls import reverse
from django.utils import translation

from accounts.importing import COLUMNS, ImportReport, RowError, contacts_export_csv, contacts_import
from accounts.models import ClientAccount, Contact, ImportJob, SmsConsent
from tests.conftest import make_client, make_contact

from .conftest import contacts_csv, hansa_row, sakura_row

pytestmark = pytest.mark.django_db

EMAIL_ONLY = {"contact_phone": "", "contact_channels": "email", "contact_sms_consent": ""}


def import_rows(organization, *rows, **options):
    options.setdefault("dry_run", False)
    options.setdefault("import_valid_rows", False)
    return contacts_import(organization=organization, csv_file=contacts_csv(*rows), **options)


def test_clean_file_imports_every_client_and_contact(organization):
    report = import_rows(
        organization,
        hansa_row(),
        hansa_row(contact_name="Sophie Wagner", contact_email="sophie.wagner@hansa.example", **EMAIL_ONLY),
        sakura_row(),
    )

    assert report.errors == []
    assert report.imported
    assert (report.rows_total, report.rows_valid) == (3, 3)
    assert (report.clients_created, report.contacts_created) == (2, 3)
    hansa = ClientAccount.objects.get(organization=organization, name="Hansa Logistik")
    assert (hansa.country, hansa.default_language, hansa.timezone, hansa.tier) == ("DE", "de", "Europe/Berlin", "key")
    assert hansa.tags == ["api", "eu"]
    juergen = hansa.contacts.get(email="juergen.becker@hansa.example")
    assert juergen.phone == "+4915123456789"
    assert (juergen.accepts_email, juergen.accepts_sms) == (True, True)
    assert juergen.sms_consent == SmsConsent.GRANTED
    assert juergen.sms_consent_at is not None
    assert Contact.objects.get(name="Yuki Suzuki").phone == "+819012345678"


def test_later_rows_of_a_client_may_leave_its_columns_empty(organization):
    second = {"client_name": "Hansa Logistik", "contact_name": "Sophie Wagner", "contact_email": "sw@hansa.example"}

    report = import_rows(organization, hansa_row(), second)

    assert report.errors == []
    assert ClientAccount.objects.get().contacts.count() == 2


def test_file_with_a_utf8_byte_order_mark_is_read(organization):
    content = ("\ufeff" + contacts_csv(hansa_row())).encode("utf-8")

    report = contacts_import(organization=organization, csv_file=content, dry_run=False, import_valid_rows=False)

    assert report.errors == []
    assert report.contacts_created == 1


def test_file_with_errors_imports_nothing_and_says_where(organization):
    report = import_rows(
        organization,
        hansa_row(),
        hansa_row(contact_name="A", contact_email="a@hansa.example", contact_phone="12"),
        hansa_row(contact_name="B", contact_email="not-an-email", **EMAIL_ONLY),
        hansa_row(contact_name="C", contact_email="c@hansa.example", contact_language="klingon"),
        hansa_row(contact_name="D", contact_email="d@hansa.example", contact_timezone="Europe/Atlantis"),
    )

    assert not report.imported
    assert report.is_blocked
    assert ClientAccount.objects.count() == 0
    assert Contact.objects.count() == 0
    assert [(error.row, error.column) for error in report.errors] == [
        (3, "contact_phone"),
        (4, "contact_email"),
        (5, "contact_language"),
        (6, "contact_timezone"),
    ]
    assert str(report.errors[0]) == "row 3, contact_phone: Invalid phone number '12'."
    assert report.errors[1].message == "Enter a valid email address."
    assert "Unknown language 'klingon'" in report.errors[2].message
    assert "Unknown timezone 'Europe/Atlantis'" in report.errors[3].message
    assert report.rows_valid == 1
    assert "Nothing imported" in report.summary()


def test_row_errors_are_kept_as_codes_and_worded_in_the_readers_language(organization):
    report = import_rows(
        organization,
        hansa_row(contact_name="A", contact_email="a@hansa.example", contact_phone="12"),
        hansa_row(contact_name="B", contact_email="not-an-email", **EMAIL_ONLY),
    )
    stored = ImportReport.from_dict(report.as_dict())  # as the job keeps it, as JSON
    assert [(error.code, error.params) for error in stored.errors] == [
        ("invalid_phone", {"value": "'12'"}),
        ("invalid", {"value": "not-an-email"}),
    ]
    with translation.override("de"):
        assert [error.message for error in stored.errors] == [
            "Ungültige Telefonnummer '12'.",
            "Gib eine gültige E-Mail Adresse an.",  # Django's own words
        ]
    assert stored.errors[0].message == "Invalid phone number '12'."


def test_a_report_stored_before_errors_had_codes_still_shows_its_words():
    report = ImportReport.from_dict({"dry_run": True, "import_valid_rows": False, "errors": [[1, "", "Old words."]]})
    assert [(error.row, error.column, error.message) for error in report.errors] == [(1, "", "Old words.")]


@pytest.mark.parametrize(
    ("values", "column"),
    [
        ({"client_tier": "gold"}, "client_tier"),
        ({"client_country": "Germany"}, "client_country"),
        ({"client_timezone": ""}, "client_timezone"),
        ({"contact_seniority": "boss"}, "contact_seniority"),
        ({"contact_channels": "email;fax"}, "contact_channels"),
        ({"contact_sms_consent": "maybe"}, "contact_sms_consent"),
        ({"contact_name": ""}, "contact_name"),
        ({"client_name": ""}, "client_name"),
        ({"contact_phone": "", "contact_channels": "sms"}, "contact_channels"),
        ({"contact_phone": "", "contact_email": ""}, ""),
    ],
)
def test_each_invalid_value_is_reported_against_its_column(organization, values, column):
    report = import_rows(organization, hansa_row(**values))

    assert [(error.row, error.column) for error in report.errors] == [(2, column)]
    assert not report.imported


def test_unknown_column_is_reported_once_and_blocks_the_import(organization):
    content = contacts_csv(hansa_row(favourite_colour="blue"), hansa_row(), columns=[*COLUMNS, "favourite_colour"])

    report = contacts_import(organization=organization, csv_file=content, dry_run=False, import_valid_rows=True)

    assert report.errors == [RowError(1, "favourite_colour", "unknown_column", report.errors[0].params)]
    assert "Unknown column 'favourite_colour'" in report.errors[0].message
    assert not report.imported
    assert ClientAccount.objects.count() == 0


def test_duplicated_contact_row_is_an_error_on_the_later_row(organization):
    report = import_rows(organization, hansa_row(), sakura_row(), hansa_row(contact_phone=""))

    assert [(error.row, error.column) for error in report.errors] == [(4, "contact_email")]
    assert "row 2" in report.errors[0].message
    assert Contact.objects.count() == 0


def test_import_valid_rows_imports_only_the_valid_ones_and_lists_the_skipped(organization):
    report = import_rows(
        organization,
        hansa_row(),
        sakura_row(contact_phone="12"),
        hansa_row(contact_name="Sophie Wagner", contact_email="sophie.wagner@hansa.example", **EMAIL_ONLY),
        import_valid_rows=True,
    )

    assert report.imported
    assert report.rows_with_errors == [3]
    assert (report.rows_valid, report.contacts_created, report.clients_created) == (2, 2, 1)
    assert list(Contact.objects.values_list("name", flat=True)) == ["Jürgen Becker", "Sophie Wagner"]
    assert not ClientAccount.objects.filter(name="Sakura Robotics").exists()
    assert "Skipped rows with errors: 3." in report.summary()
    with translation.override("de"):  # the report is worded when it is shown, in the reader's language
        assert report.summary().splitlines() == [
            "3 Zeilen gelesen, 2 gültig.",
            "Importiert. Kunden: 1 angelegt, 0 geändert, 0 unverändert. "
            "Kontakte: 2 angelegt, 0 geändert, 0 unverändert.",
            "Übersprungene Zeilen mit Fehlern: 3.",
        ]


def test_rows_of_a_new_client_whose_details_were_refused_are_skipped_too(organization):
    report = import_rows(
        organization,
        sakura_row(client_timezone="Tokyo"),
        {"client_name": "Sakura Robotics", "contact_name": "Haruto Sato", "contact_email": "haruto@sakura.example"},
        import_valid_rows=True,
    )

    assert [(error.row, error.column) for error in report.errors] == [(2, "client_timezone"), (3, "client_name")]
    assert "row 2" in report.errors[1].message
    assert not report.imported
    assert ClientAccount.objects.count() == 0


def test_dry_run_writes_nothing_but_reports_what_it_would_do(organization):
    report = import_rows(organization, hansa_row(), sakura_row(), dry_run=True)

    assert report.errors == []
    assert not report.imported
    assert (report.clients_created, report.contacts_created) == (2, 2)
    assert ClientAccount.objects.count() == 0
    assert Contact.objects.count() == 0
    assert "Dry run" in report.summary()


def test_reimport_updates_instead_of_duplicating(organization):
    import_rows(organization, hansa_row(), sakura_row())

    unchanged = import_rows(organization, hansa_row(), sakura_row())
    changed = import_rows(
        organization,
        hansa_row(client_tier="strategic", contact_title="CIO", contact_sms_consent=""),
        sakura_row(),
    )

    assert (unchanged.clients_unchanged, unchanged.contacts_unchanged, unchanged.contacts_created) == (2, 2, 0)
    assert (changed.clients_updated, changed.contacts_updated, changed.contacts_created) == (1, 1, 0)
    assert ClientAccount.objects.count() == 2
    assert Contact.objects.count() == 2
    juergen = Contact.objects.get(email="juergen.becker@hansa.example")
    assert (juergen.title, juergen.client.tier, juergen.sms_consent) == ("CIO", "strategic", SmsConsent.GRANTED)


def test_contact_without_email_is_matched_by_phone(organization):
    client = make_client(organization, name="Hansa Logistik")
    stored = make_contact(client, name="Lukas Fischer", email="", phone="+4915123456789")

    report = import_rows(
        organization, hansa_row(contact_name="Lukas Fischer", contact_email="", contact_title="Servicetechniker")
    )

    assert (report.contacts_created, report.contacts_updated) == (0, 1)
    stored.refresh_from_db()
    assert stored.title == "Servicetechniker"


def test_import_never_grants_sms_consent_again_after_an_opt_out(organization):
    client = make_client(organization, name="Hansa Logistik")
    make_contact(
        client,
        name="Jürgen Becker",
        email="juergen.becker@hansa.example",
        phone="+4915123456789",
        sms_consent=SmsConsent.OPTED_OUT,
    )

    report = import_rows(organization, hansa_row(contact_sms_consent="granted"))

    assert [(error.row, error.column) for error in report.errors] == [(2, "contact_sms_consent")]
    assert Contact.objects.get().sms_consent == SmsConsent.OPTED_OUT


def test_import_stays_inside_its_organisation(organization, other_organization):
    make_client(other_organization, name="Hansa Logistik", country="AT", timezone="Europe/Vienna")

    import_rows(organization, hansa_row())

    assert ClientAccount.objects.get(organization=other_organization).country == "AT"
    assert ClientAccount.objects.get(organization=organization).contacts.count() == 1


def test_export_can_be_imported_again_unchanged(organization, other_organization):
    import_rows(organization, hansa_row(), sakura_row(), hansa_row(contact_name="Ida", contact_email="ida@h.example"))
    exported = contacts_export_csv(clients=ClientAccount.objects.filter(organization=organization))

    again = contacts_import(organization=organization, csv_file=exported, dry_run=False, import_valid_rows=False)
    copied = contacts_import(organization=other_organization, csv_file=exported, dry_run=False, import_valid_rows=False)

    assert again.errors == []
    assert (again.contacts_unchanged, again.clients_unchanged) == (3, 2)
    assert (copied.contacts_created, copied.clients_created) == (3, 2)
    header = next(csv.reader(io.StringIO(exported)))
    assert header == COLUMNS


def test_command_imports_and_prints_the_summary(organization, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(contacts_csv(hansa_row(), sakura_row()), encoding="utf-8")
    out = io.StringIO()

    call_command("import_contacts", str(path), "--organization", "northwind", stdout=out)

    assert "Imported." in out.getvalue()
    assert Contact.objects.count() == 2


def test_command_prints_each_error_and_fails_when_nothing_is_imported(organization, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(contacts_csv(hansa_row(), hansa_row(contact_email="x@hansa.example", contact_phone="12")))
    out = io.StringIO()

    with pytest.raises(CommandError, match="Nothing imported"):
        call_command("import_contacts", str(path), "--organization", "northwind", stdout=out)

    assert "row 3, contact_phone: Invalid phone number '12'." in out.getvalue().splitlines()
    assert Contact.objects.count() == 0


def test_command_with_import_valid_rows_succeeds_and_lists_the_skipped_rows(organization, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(contacts_csv(hansa_row(), hansa_row(contact_email="x@hansa.example", contact_phone="12")))
    out = io.StringIO()

    call_command("import_contacts", str(path), "--organization", "northwind", "--import-valid-rows", stdout=out)

    assert "Skipped rows with errors: 3." in out.getvalue()
    assert Contact.objects.count() == 1


def test_command_dry_run_writes_nothing(organization, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(contacts_csv(hansa_row()))
    out = io.StringIO()

    call_command("import_contacts", str(path), "--organization", "northwind", "--dry-run", stdout=out)

    assert "Dry run" in out.getvalue()
    assert Contact.objects.count() == 0


def test_command_explains_a_missing_file_and_an_unknown_organisation(organization, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(contacts_csv(hansa_row()))

    with pytest.raises(CommandError, match="No such file"):
        call_command("import_contacts", str(tmp_path / "missing.csv"), "--organization", "northwind")
    with pytest.raises(CommandError, match="No organisation with slug 'nowhere'"):
        call_command("import_contacts", str(path), "--organization", "nowhere")


def test_admin_changelist_links_to_the_import_page(client, operator, organization):
    client.force_login(operator)

    response = client.get(reverse("admin:accounts_clientaccount_changelist"))

    assert response.status_code == 200
    assert reverse("admin:accounts_clientaccount_import") in response.text


def test_admin_import_page_imports_a_file_in_the_background_and_shows_the_report(
    client, operator, organization, run_worker
):
    client.force_login(operator)
    upload = SimpleUploadedFile("contacts.csv", contacts_csv(hansa_row(), sakura_row()).encode(), "text/csv")

    response = client.post(
        reverse("admin:accounts_clientaccount_import"), {"organization": organization.pk, "file": upload}
    )

    assert response.status_code == 202
    job = ImportJob.objects.get()
    assert job.status == "queued" and 'data-status="queued"' in response.text
    job_url = reverse("admin:accounts_clientaccount_import_job", args=[job.pk])
    assert job_url in response.text and Contact.objects.count() == 0
    run_worker()
    page = client.get(job_url)
    assert page.status_code == 200 and 'data-status="done"' in page.text
    assert Contact.objects.count() == 2
    assert "Imported." in page.text


def test_admin_import_page_shows_errors_as_a_table_and_imports_nothing(client, operator, organization, run_worker):
    client.force_login(operator)
    bad = hansa_row(contact_email="x@hansa.example", contact_phone="12")
    upload = SimpleUploadedFile("contacts.csv", contacts_csv(hansa_row(), bad).encode(), "text/csv")

    client.post(reverse("admin:accounts_clientaccount_import"), {"organization": organization.pk, "file": upload})
    run_worker()
    response = client.get(reverse("admin:accounts_clientaccount_import_job", args=[ImportJob.objects.get().pk]))

    assert response.status_code == 200
    assert 'id="import-errors"' in response.text
    assert "Invalid phone number &#x27;12&#x27;." in response.text
    assert Contact.objects.count() == 0


def test_another_tenants_import_job_is_a_404(client, organization, other_organization, run_worker):
    from accounts.importing import import_job_start
    from tests.conftest import make_user

    job = import_job_start(
        organization=organization, actor=None, csv_file=contacts_csv(hansa_row()).encode(), file_name="a.csv"
    )
    client.force_login(make_user("grace", other_organization, "admin", is_staff=True))
    assert client.get(reverse("admin:accounts_clientaccount_import_job", args=[job.pk])).status_code == 404


def test_admin_export_action_downloads_the_import_columns(client, operator, organization):
    client.force_login(operator)
    import_rows(organization, hansa_row())
    hansa = ClientAccount.objects.get()

    response = client.post(
        reverse("admin:accounts_clientaccount_changelist"),
        {"action": "export_contacts_csv", "_selected_action": [hansa.pk]},
    )

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(row["client_name"], row["contact_email"]) for row in rows] == [
        ("Hansa Logistik", "juergen.becker@hansa.example")
    ]


def test_blank_lines_keep_the_row_numbers_a_spreadsheet_shows(organization):
    content = contacts_csv(hansa_row()) + ",,,,\n" + contacts_csv(sakura_row(contact_phone="12")).split("\n", 1)[1]

    report = contacts_import(organization=organization, csv_file=content, dry_run=False, import_valid_rows=False)

    assert report.rows_total == 2
    assert [(error.row, error.column) for error in report.errors] == [(4, "contact_phone")]


def test_later_row_may_not_change_client_details_given_earlier(organization):
    report = import_rows(
        organization,
        hansa_row(),
        hansa_row(client_country="AT", contact_name="Sophie Wagner", contact_email="sw@hansa.example", **EMAIL_ONLY),
    )

    assert [(error.row, error.column) for error in report.errors] == [(3, "client_country")]
    assert "given on row 2" in report.errors[0].message


def test_failure_while_writing_leaves_nothing_half_imported(organization, monkeypatch):
    saves = []
    original_save = Contact.save

    def save_then_fail_on_the_second_contact(contact, *args, **kwargs):
        saves.append(contact.name)
        if len(saves) == 2:
            raise DatabaseError("disk full")
        return original_save(contact, *args, **kwargs)

    monkeypatch.setattr(Contact, "save", save_then_fail_on_the_second_contact)

    with pytest.raises(DatabaseError):
        import_rows(organization, hansa_row(), sakura_row())

    assert ClientAccount.objects.count() == 0
    assert Contact.objects.count() == 0


def test_admin_import_page_offers_the_form(client, operator, organization):
    client.force_login(operator)

    response = client.get(reverse("admin:accounts_clientaccount_import"))

    assert response.status_code == 200
    assert 'name="file"' in response.text
    assert 'name="import_valid_rows"' in response.text


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"])
def test_admin_export_makes_formulas_inert_and_reimports_them_unchanged(client, operator, organization, name):
    client.force_login(operator)
    import_rows(organization, hansa_row(contact_name=name))
    hansa = ClientAccount.objects.get()

    response = client.post(
        reverse("admin:accounts_clientaccount_changelist"),
        {"action": "export_contacts_csv", "_selected_action": [hansa.pk]},
    )

    exported = response.content.decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(exported)))
    assert row["contact_name"] == "'" + name
    assert row["contact_phone"].startswith("+49")
    report = contacts_import(organization=organization, csv_file=exported)
    assert (report.contacts_unchanged, report.contacts_updated) == (1, 0)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_command_shows_a_progress_bar_only_on_a_terminal(organization, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(contacts_csv(hansa_row(), sakura_row()))

    on_terminal, into_file = Terminal(), io.StringIO()
    call_command("import_contacts", str(path), "--organization", "northwind", "--dry-run", stdout=on_terminal)
    call_command("import_contacts", str(path), "--organization", "northwind", "--dry-run", stdout=into_file)

    assert "\r[" + "#" * 30 + "] 2/2 rows checked\n" in on_terminal.getvalue()
    assert "rows checked" not in into_file.getvalue()


# Every committed change of an import job's progress, with the number of contacts stored at that
# moment, recorded by the database itself (a trigger) while the real task runs.
PROGRESS_SEEN = {
    "sqlite": [
        "CREATE TABLE progress_seen (rows_checked integer, rows_total integer, contacts integer)",
        """CREATE TRIGGER progress_seen AFTER UPDATE OF rows_checked ON accounts_importjob BEGIN
             INSERT INTO progress_seen VALUES (NEW.rows_checked, NEW.rows_total, (SELECT count(*) FROM accounts_contact));
           END""",
    ],
    "postgresql": [
        "CREATE TABLE progress_seen (rows_checked integer, rows_total integer, contacts integer)",
        """CREATE FUNCTION progress_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
             INSERT INTO progress_seen VALUES (NEW.rows_checked, NEW.rows_total, (SELECT count(*) FROM accounts_contact));
             RETURN NEW;
           END $$""",
        """CREATE TRIGGER progress_seen AFTER UPDATE OF rows_checked ON accounts_importjob
           FOR EACH ROW EXECUTE FUNCTION progress_seen()""",
    ],
}


@pytest.fixture
def progress_seen(db):
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in PROGRESS_SEEN[connection.vendor]:
            cursor.execute(statement)

    def seen():
        with connection.cursor() as cursor:
            cursor.execute("SELECT rows_checked, rows_total, contacts FROM progress_seen")
            return [tuple(row) for row in cursor.fetchall()]

    return seen


def five_rows():
    return [
        hansa_row(contact_name=name, contact_email=f"{name.lower()}@hansa.example", **EMAIL_ONLY)
        for name in ("Anna", "Ben", "Clara", "Dirk", "Emma")
    ]


def test_a_running_import_records_rows_checked_of_the_total_and_writes_only_at_the_end(
    client, operator, organization, run_worker, progress_seen, settings
):
    settings.CANDOR_IMPORT_PROGRESS_EVERY = 2
    client.force_login(operator)
    upload = SimpleUploadedFile("contacts.csv", contacts_csv(*five_rows()).encode(), "text/csv")
    client.post(reverse("admin:accounts_clientaccount_import"), {"organization": organization.pk, "file": upload})

    run_worker()

    # Started (0, total unknown), the file read (0 of 5), every second row, the last row; not one
    # contact stored while it ran, all five once it was done.
    assert progress_seen() == [(0, None, 0), (0, 5, 0), (2, 5, 0), (4, 5, 0), (5, 5, 0)]
    job = ImportJob.objects.get()
    assert (job.status, job.rows_checked, job.rows_total) == ("done", 5, 5)
    assert Contact.objects.count() == 5


def test_a_blocked_import_stops_its_progress_where_the_rows_were_checked_and_writes_nothing(
    organization, run_worker, progress_seen, settings
):
    from accounts.importing import import_job_start

    settings.CANDOR_IMPORT_PROGRESS_EVERY = 3
    rows = [*five_rows(), hansa_row(contact_name="Finn", contact_email="finn@hansa.example", contact_phone="12")]
    import_job_start(organization=organization, actor=None, csv_file=contacts_csv(*rows).encode())

    run_worker()

    assert progress_seen() == [(0, None, 0), (0, 6, 0), (3, 6, 0), (6, 6, 0)]
    assert ImportJob.objects.get().report["imported"] is False
    assert Contact.objects.count() == 0


def running_job(organization, *, rows_checked, rows_total, dry_run=False):
    return ImportJob.objects.create(
        organization=organization,
        file_name="contacts.csv",
        content=b"",
        status="running",
        rows_checked=rows_checked,
        rows_total=rows_total,
        dry_run=dry_run,
    )


def test_admin_page_polls_a_running_import_and_shows_rows_checked_of_the_total(client, operator, organization):
    job = running_job(organization, rows_checked=2000, rows_total=5000)
    job_url = reverse("admin:accounts_clientaccount_import_job", args=[job.pk])
    client.force_login(operator)

    page = client.get(job_url)
    fragment = client.get(job_url, HTTP_HX_REQUEST="true")

    assert "/static/candor/htmx.min.js" in page.text
    assert f'hx-get="{job_url}" hx-trigger="every 2s"' in page.text
    assert '<progress max="5000" value="2000">' in fragment.text
    assert "2000 of 5000 rows checked" in fragment.text
    assert "<html" not in fragment.text and 'id="import-job"' in fragment.text


def test_admin_page_says_when_the_checked_rows_are_written_and_stops_polling_once_done(client, operator, organization):
    job = running_job(organization, rows_checked=5000, rows_total=5000)
    job_url = reverse("admin:accounts_clientaccount_import_job", args=[job.pk])
    client.force_login(operator)

    writing = client.get(job_url, HTTP_HX_REQUEST="true")
    ImportJob.objects.filter(pk=job.pk).update(status="failed")
    failed = client.get(job_url, HTTP_HX_REQUEST="true")

    assert "All 5000 rows checked; writing them now, all at once." in writing.text
    assert "hx-trigger" in writing.text
    assert "hx-trigger" not in failed.text and "Nothing was imported" in failed.text
