"""manage.py sweep_timers [--every SECONDS]: do the promise and deadline actions a lost timer missed.

django-tasks has no periodic tasks and a killed worker leaves its task RUNNING for good, so run
this beside the workers (as `make run` does for sweep_outbox).
"""

import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from playbooks.promises.services import timers_sweep
from playbooks.surveys.services import surveys_sweep


class Command(BaseCommand):
    help = (
        "Send the reminders, holding statements, escalations, deadline alerts and survey steps whose timers were lost."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, every, **options):
        while True:
            now = timezone.now()
            done = timers_sweep(now=now)
            surveys = surveys_sweep(now=now)
            if surveys:
                done["surveys"] = len(surveys)
            if done or not every:
                self.stdout.write(
                    "swept: " + (", ".join(f"{kind} {count}" for kind, count in sorted(done.items())) or "nothing late")
                )
            if not every:
                return
            time.sleep(every)
