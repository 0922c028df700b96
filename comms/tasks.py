"""Background tasks of the outbox. Thin: each calls one service. All are idempotent: the
Message rows are the truth, a task only moves due rows forward."""

from django_tasks import task

from . import services


@task(queue_name="email")
def deliver_email_batch():
    return services.deliver_batch(channel="email")


@task(queue_name="sms")
def deliver_sms_batch():
    return services.deliver_batch(channel="sms")


@task(queue_name="team_channels")
def deliver_slack_batch():
    return services.deliver_batch(channel="slack")


@task(queue_name="team_channels")
def deliver_teams_batch():
    return services.deliver_batch(channel="teams")


DELIVERY_TASKS = {
    "email": deliver_email_batch,
    "sms": deliver_sms_batch,
    "slack": deliver_slack_batch,
    "teams": deliver_teams_batch,
}
