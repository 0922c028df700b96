"""Every read is scoped to the user's organisation."""

import pytest
from django.http import Http404

from playbooks.incidents.selectors import incident_get, incident_list, playbook_list
from playbooks.updates.audience import audience_clients
from tests.conftest import make_client


def test_users_see_only_their_organisations_incidents(outage_playbook, make_incident, alice, carol, eve):
    incident = make_incident(outage_playbook)
    assert list(incident_list(user=alice)) == [incident]
    assert list(incident_list(user=carol)) == [incident]
    assert list(incident_list(user=eve)) == []
    assert list(playbook_list(user=eve)) == []
    with pytest.raises(Http404):
        incident_get(user=eve, pk=incident.pk)


def test_audience_is_the_chosen_clients_plus_tag_and_country_matches(
    organization, other_organization, outage_playbook, make_incident
):
    chosen = make_client(organization, name="Chosen")
    make_client(organization, name="Tagged", tags=["payments"])
    make_client(organization, name="French", country="FR")
    make_client(organization, name="Untouched", tags=["dashboard"])
    make_client(other_organization, name="Foreign", tags=["payments"], country="FR")
    incident = make_incident(
        outage_playbook, affected_clients=[chosen], affected_tags=["payments"], affected_countries=["fr"]
    )
    assert {client.name for client in audience_clients(incident=incident)} == {"Chosen", "Tagged", "French"}


def test_audience_falls_back_to_the_playbook_rule(organization, make_incident):
    from tests.playbooks.conftest import make_playbook

    playbook = make_playbook(organization, "outage", audience_all_clients=True)
    make_client(organization, name="One")
    make_client(organization, name="Two")
    assert len(audience_clients(incident=make_incident(playbook))) == 2
