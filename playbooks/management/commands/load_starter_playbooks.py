"""manage.py load_starter_playbooks --organization SLUG: add the three starter playbooks."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from playbooks.starter import starter_playbooks_load


class Command(BaseCommand):
    help = "Load the starter playbooks (outage, recall, compliance) into an organisation; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="The organisation's slug.")

    def handle(self, *args, organization, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"No organisation with slug {organization!r}.")
        created, existing = starter_playbooks_load(organization=org)
        for playbook in created:
            self.stdout.write(f"created  {playbook.slug}: {playbook.name}")
        for playbook in existing:
            self.stdout.write(f"kept     {playbook.slug}: {playbook.name} (already present, left as edited)")
