"""manage.py import_contacts: create or update an organisation's clients and contacts from a CSV file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.importing import COLUMNS, contacts_import
from accounts.models import Organization


class Command(BaseCommand):
    help = (
        "Import clients and contacts from a UTF-8 CSV file with the columns "
        f"{', '.join(COLUMNS)}. If any row has an error nothing is imported, unless --import-valid-rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file.")
        parser.add_argument("--organization", required=True, help="Slug of the organisation to import into.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; write nothing.")
        parser.add_argument(
            "--import-valid-rows",
            action="store_true",
            help="Import the valid rows even if other rows have errors (those are skipped and listed).",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        try:
            organization = Organization.objects.get(slug=options["organization"])
        except Organization.DoesNotExist:
            known = ", ".join(Organization.objects.order_by("slug").values_list("slug", flat=True)) or "none"
            raise CommandError(f"No organisation with slug {options['organization']!r} (known: {known}).") from None

        report = contacts_import(
            organization=organization,
            csv_file=content,
            dry_run=options["dry_run"],
            import_valid_rows=options["import_valid_rows"],
            progress=self._progress_bar if self.stdout.isatty() else None,
        )
        for error in report.errors:
            self.stdout.write(str(error))
        if report.is_blocked:
            raise CommandError(report.summary())
        self.stdout.write(report.summary())

    def _progress_bar(self, done, total, width=30):
        """One line redrawn in place on a terminal: never written into a file or a pipe."""
        filled = width * done // max(total, 1)
        self.stdout.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} rows checked",
            ending="\n" if done == total else "",
        )
        self.stdout.flush()
