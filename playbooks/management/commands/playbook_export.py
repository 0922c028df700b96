"""manage.py playbook_export SLUG [--organization SLUG] [--output FILE]: a playbook as YAML."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from playbooks.as_code.services import playbook_export
from playbooks.management.commands._organization import organization_named
from playbooks.models import Playbook


class Command(BaseCommand):
    help = "Write a playbook as a YAML file (format candor-playbook/1) to edit and import again."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The playbook's slug.")
        parser.add_argument("--organization", help="The organisation's slug (needed when several have the playbook).")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, slug, organization, output, **options):
        org = organization_named(organization, playbook_slug=slug)
        playbook = Playbook.objects.filter(organization=org, slug=slug).first()
        if playbook is None:
            raise CommandError(f"{org.name} has no playbook {slug!r}.")
        text = playbook_export(playbook=playbook)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {slug} v{playbook.version} to {output}.")
        else:
            self.stdout.write(text, ending="")
