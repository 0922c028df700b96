"""manage.py load_demo: the demo organisation, its people and clients, and the starter playbooks."""

from django.core.management.base import BaseCommand

from accounts.demo import DEMO_LOGINS, DEMO_OPERATOR_LOGIN, demo_organization_load
from playbooks.starter import starter_playbooks_load


class Command(BaseCommand):
    help = "Load the demo organisation and the three starter playbooks; safe to run again."

    def handle(self, *args, **options):
        organization = demo_organization_load()
        created, existing = starter_playbooks_load(organization=organization)
        self.stdout.write(
            f"Demo organisation {organization.name}: {organization.clients.count()} clients, "
            f"{sum(client.contacts.count() for client in organization.clients.all())} contacts, "
            f"{len(created) + len(existing)} playbooks ({len(created)} new)."
        )
        self.stdout.write("Logins:")
        for username, role, password in [*DEMO_LOGINS, DEMO_OPERATOR_LOGIN]:
            self.stdout.write(f"  {username:<8} {password:<14} {role}")
