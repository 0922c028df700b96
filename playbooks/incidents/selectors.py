"""Read queries for incidents and playbooks, always scoped to an organisation or a user."""

from django.http import Http404

from accounts.models import ClientAccount
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


def audience_clients(*, incident):
    """The clients this incident affects now: the chosen ones, plus those matching its tags or
    countries; with no scope chosen, the playbook's audience rule."""
    clients = ClientAccount.objects.filter(organization_id=incident.organization_id)
    chosen_ids = set(incident.affected_clients.values_list("pk", flat=True))
    tags = set(incident.affected_tags or [])
    countries = set(incident.affected_countries or [])
    if not (chosen_ids or tags or countries):
        rule = incident.plan.get("audience", {})
        if rule.get("all_clients"):
            return list(clients)
        tags = set(rule.get("tags", []))
        countries = set(rule.get("countries", []))
    return [
        client
        for client in clients
        if client.pk in chosen_ids or tags.intersection(client.tags or []) or client.country in countries
    ]
