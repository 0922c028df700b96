"""Durable timers of the client survey (queue "timers"). Thin: each calls one service, which
re-reads the survey and does only what is due now, so a timer that runs late or twice is harmless."""

from django.utils import timezone
from django_tasks import task

from playbooks.models import ClientSurvey
from playbooks.surveys import services as surveys


@task(queue_name="timers")
def survey_timer(survey_id, recheck=False):
    """Scheduled at the send time, the reminder time and the closing time of a survey, and (with
    `recheck`) every CANDOR_SURVEY_RECHECK_MINUTES while it is open."""
    survey = ClientSurvey.objects.filter(pk=survey_id).first()
    if survey is None:
        return []
    if recheck:
        return surveys.survey_recheck(survey=survey, now=timezone.now())
    return surveys.survey_advance(survey=survey, now=timezone.now())
