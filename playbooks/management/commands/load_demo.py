"""manage.py load_demo [--reset]: the demo organisation, its people and clients, the starter playbooks,
and months of handled crises with one under way now."""

import time

from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_LOGINS, DEMO_OPERATOR_LOGIN, demo_organization_load
from accounts.models import Organization
from playbooks.demo.history import demo_history_load
from playbooks.demo.reset import organization_data_delete
from playbooks.starter import starter_playbooks_load


class Command(BaseCommand):
    help = (
        "Load the demo organisation, the three starter playbooks and the demo's history; safe to run again "
        "(what is there is left as it is). --reset deletes the demo organisation's data first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo organisation and all its data, then load it again."
        )
        parser.add_argument(
            "--without-history", action="store_true", help="Only the organisation and the playbooks (quick)."
        )

    def handle(self, *args, reset=False, without_history=False, **options):
        started = time.monotonic()
        if reset:
            existing = Organization.objects.filter(slug="northwind").first()
            if existing is not None:
                rows = organization_data_delete(organization=existing)
                self.stdout.write(f"Deleted the demo organisation {existing.name} ({rows} rows).")
        organization = demo_organization_load()
        created, existing = starter_playbooks_load(organization=organization)
        incidents = 0
        if not without_history:
            try:
                incidents = demo_history_load(organization=organization)
            except RuntimeError as error:
                raise CommandError(str(error)) from error
        self.stdout.write(
            f"Demo organisation {organization.name}: {organization.clients.count()} clients, "
            f"{sum(client.contacts.count() for client in organization.clients.all())} contacts, "
            f"{len(created) + len(existing)} playbooks ({len(created)} new)."
        )
        if incidents:
            self.stdout.write(
                f"Demo history: {incidents} incidents played through in {time.monotonic() - started:.0f} s "
                "(one live now)."
            )
        elif not without_history:
            self.stdout.write("Demo history already there (manage.py load_demo --reset starts over).")
        self.stdout.write("Logins:")
        for username, role, password in [*DEMO_LOGINS, DEMO_OPERATOR_LOGIN]:
            self.stdout.write(f"  {username:<8} {password:<14} {role}")
