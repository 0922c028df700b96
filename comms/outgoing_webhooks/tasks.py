"""The worker's side of outgoing webhooks. Thin and idempotent: the delivery rows are the truth."""

from django_tasks import task

from . import services


@task(queue_name="webhooks")
def deliver_webhooks():
    return services.webhook_deliver_batch()
