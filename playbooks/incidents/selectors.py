"""Read queries for incidents and playbooks, always scoped to an organisation or a user."""

from django.http import Http404

from playbooks.models import Incident, Playbook


def incident_list(*, user):
    """The incidents this user may see: their organisation's, live ones first."""
    if not user.is_authenticated or user.organization_id is None:
        return Incident.objects.none()
    return Incident.objects.filter(organization_id=user.organization_id).select_related("playbook", "commander")


def incident_get(*, user, pk):
    """One incident of the user's organisation; another organisation's is a 404, never a 403."""
    try:
        return incident_list(user=user).get(pk=pk)
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise Http404("No such incident.") from None


def playbook_list(*, user):
    if not user.is_authenticated or user.organization_id is None:
        return Playbook.objects.none()
    return Playbook.objects.filter(organization_id=user.organization_id)
