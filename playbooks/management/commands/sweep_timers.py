"""manage.py sweep_timers [--every SECONDS]: do the promise and deadline actions a lost timer missed.

django-tasks has no periodic tasks and a killed worker leaves its task RUNNING for good, so run
this beside the workers (as `make run` does for sweep_outbox).
"""
import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from playbooks.cadence import timers_sweep


class Command(BaseCommand):
    help = "Send the reminders, holding statements, escalations and deadline alerts whose timers were lost."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, every, **options):
        while True:
            done = timers_sweep(now=timezone.now())
            if done or not every:
                self.stdout.write("swept: " + (", ".join(f"{kind} {count}" for kind, count in sorted(done.items()))
                                               or "nothing late"))
            if not every:
                return
            time.sleep(every)
