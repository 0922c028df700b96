"""manage.py sweep_outbox [--every SECONDS]: recover messages a stopped worker left behind.

django-tasks has no periodic tasks, so run this beside the workers (`make run` does).
"""

import time

from django.core.management.base import BaseCommand

from comms.services import outbox_sweep


class Command(BaseCommand):
    help = "Re-queue messages stuck in 'sending' and re-enqueue work for due messages."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, every, **options):
        while True:
            result = outbox_sweep()
            if result["recovered"] or result["due"] or not every:
                self.stdout.write(f"recovered {result['recovered']}, re-enqueued {result['due']}")
            if not every:
                return
            time.sleep(every)
