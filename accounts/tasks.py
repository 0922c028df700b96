"""Background work of accounts (queue "default"): CSV imports too large for a request."""

from django_tasks import task

from .importing import import_job_run


@task(queue_name="default")
def import_job_task(job_id):
    """Run one import job; safe to run again (a finished job is left alone)."""
    report = import_job_run(job_id=job_id)
    return None if report is None else report.summary()
