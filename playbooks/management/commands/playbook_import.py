"""manage.py playbook_import FILE [--dry-run] [--organization SLUG]: create or update a playbook from YAML."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from playbooks.as_code.services import PlaybookImportError, playbook_import
from playbooks.management.commands._organization import organization_named


class Command(BaseCommand):
    help = (
        "Create or update a playbook from its YAML file. Every problem is listed with its path in the file and "
        "nothing changes; an unchanged file keeps the version. --dry-run prints the diff and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The YAML file (format candor-playbook/1).")
        parser.add_argument("--dry-run", action="store_true", help="Check and print the diff; change nothing.")
        parser.add_argument("--organization", help="The organisation's slug (needed when there are several).")

    def handle(self, *args, file, dry_run, organization, **options):
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        org = organization_named(organization)
        try:
            result = playbook_import(organization=org, text=text, dry_run=dry_run, filename=path.name)
        except PlaybookImportError as error:
            count = len(error.problems)
            raise CommandError(
                f"{file}: {count} problem{'s' if count != 1 else ''}, nothing changed:\n"
                + "\n".join(f"  {problem}" for problem in error.problems)
            ) from None
        if dry_run:
            self.stdout.write(result.diff or f"{result.slug}: no changes.\n", ending="")
            if result.diff:
                self.stderr.write(f"Dry run: {result.slug} would be {'created' if result.created else 'changed'}.")
            return
        if not result.changed:
            self.stdout.write(f"{result.slug}: unchanged (v{result.version}).")
        elif result.created:
            self.stdout.write(f"{result.slug}: created (v{result.version}).")
        else:
            self.stdout.write(f"{result.slug}: updated to v{result.version}.")
