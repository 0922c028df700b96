"""Telling whoever must approve an update that it waits for them: a team notice (email and SMS)
when an update that needs a second commander's approval is drafted or its words change."""

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from accounts.models import Role, User
from candor.helpers import display_name
from comms.notifications import TeamNoticeWords, team_notify
from playbooks.incidents.topics import incident_topic


def approvers_for(*, update):
    """Who may approve: the incident's commander and backup other than the author; failing those,
    the organisation's other commanders and admins."""
    incident = update.incident
    people = [
        user
        for user in (incident.commander, incident.backup_commander)
        if user is not None and user.pk != update.author_id and user.is_active
    ]
    if not people:
        people = list(
            User.objects.filter(
                organization=incident.organization, role__in=[Role.COMMANDER, Role.ADMIN], is_active=True
            )
            .exclude(pk=update.author_id)
            .order_by("pk")
        )
    return people


def approval_request_notify(*, update):
    """Ask the approvers to approve the update's current words. Once per version of the words: the
    same words never notify twice; changed words (which withdraw an approval) notify again.
    Returns the number of messages queued."""
    if update.is_published or not update.needs_approval or update.is_approved:
        return 0
    incident = update.incident
    try:
        path = reverse("update_detail", args=[update.pk])
    except NoReverseMatch:
        path = f"/updates/{update.pk}/"

    def words(*, language, timezone_name):
        values = {
            "author": display_name(update.author) if update.author else _("Someone"),
            "stage": update.stage,
            "number": incident.pk,
            "title": incident.title,
        }
        return TeamNoticeWords(
            subject=f"[{incident.organization.name}] "
            + _("Your approval is needed: update #%(number)s") % {"number": update.pk},
            body=_(
                "%(author)s drafted an update for the %(stage)s stage of incident #%(number)s (%(title)s). "
                "It cannot be published until a second commander approves it."
            )
            % values,
        )

    return team_notify(
        organization=incident.organization,
        users=approvers_for(update=update),
        topic=incident_topic(incident),
        source=f"approval:{update.pk}:{update.content_digest()[:16]}",
        words=words,
        link=f"{settings.CANDOR_PUBLIC_URL}{path}",
    )
