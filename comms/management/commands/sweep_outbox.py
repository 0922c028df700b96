"""manage.py sweep_outbox [--every SECONDS]: recover messages and webhook deliveries a stopped
worker left behind.

Takes back messages and task rows whose worker died (lease expired) and enqueues delivery tasks
for due messages no waiting task will take. django-tasks has no periodic tasks, so run this beside
the workers (`make run` does, every 5 seconds: each pass is a few indexed queries).
"""

import time

from django.core.management.base import BaseCommand

from comms.outgoing_webhooks.services import webhook_sweep
from comms.services import outbox_sweep


class Command(BaseCommand):
    help = "Recover work of dead workers (messages, webhook deliveries) and enqueue delivery for due ones."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, every, **options):
        while True:
            result = outbox_sweep()
            webhooks = webhook_sweep()
            if (
                result["recovered"]
                or result["recovered_tasks"]
                or result["enqueued"]
                or webhooks["recovered"]
                or webhooks["due"]
                or not every
            ):
                self.stdout.write(
                    f"recovered {result['recovered']} messages {result['recovered_by_channel']}, "
                    f"{result['recovered_tasks']} tasks; enqueued {result['enqueued']}; "
                    f"webhooks recovered {webhooks['recovered']}, due {webhooks['due']}",
                    ending="\n",
                )
                self.stdout.flush()
            if not every:
                return
            time.sleep(every)
