"""An incident opened by a monitoring alert takes its scope from the alert's labels, mapped by the
endpoint's settings; without one its drafts say no one will receive them, and cannot be published."""

import copy
import json

import pytest
from django.core.exceptions import ValidationError

from playbooks.alerts.services import alert_confirm, alert_endpoint_create, alert_receive
from playbooks.incidents.services import incident_transition
from playbooks.models import AlertEndpoint, TimelineEntry
from playbooks.updates.scope import incident_scope_change
from playbooks.updates.services import publish_blockers, update_draft, update_publish
from tests.conftest import make_client
from tests.playbooks.test_alerts import ALERTMANAGER


@pytest.fixture
def clients(organization):
    return {
        "acme": make_client(organization, "Acme GmbH", tags=["acme"], country="DE"),
        "globex": make_client(organization, "Globex SA", tags=["globex"], country="FR", default_language="fr"),
        "initech": make_client(organization, "Initech Inc", tags=["initech"], country="US", default_language="en"),
    }


@pytest.fixture
def endpoint(organization, outage_playbook, alice):
    endpoint, _ = alert_endpoint_create(
        organization=organization, name="Production Alertmanager", playbook=outage_playbook, on_duty_commander=alice
    )
    endpoint.scope_labels = {"customer": "tags", "region": "countries", "client": "clients"}
    endpoint.save()
    return endpoint


def alertmanager(**labels):
    payload = copy.deepcopy(ALERTMANAGER)
    payload["alerts"][0]["labels"].update(labels)
    return payload


def test_the_alerts_labels_set_the_scope_through_the_endpoints_mapping(endpoint, clients):
    [(alert, _)] = alert_receive(endpoint=endpoint, payload=alertmanager(customer="acme", region="fr"))

    incident = alert.incident
    assert incident.affected_tags == ["acme"]
    assert incident.affected_countries == ["FR"]
    assert publish_blockers(update=_draft(incident), incident=incident) == []
    note = TimelineEntry.objects.get(incident=incident, note__startswith="Opened as a draft").note
    assert "Affected, from its labels: tags acme; countries FR." in note


def test_labels_may_name_clients_and_list_several_values(endpoint, clients):
    [(alert, _)] = alert_receive(endpoint=endpoint, payload=alertmanager(client="Initech Inc, Acme GmbH"))

    assert set(alert.incident.affected_clients.all()) == {clients["initech"], clients["acme"]}


def test_generic_payload_tags_as_an_object_are_labels_too(endpoint, clients):
    payload = {"title": "Checkout down", "tags": {"customer": "globex"}}

    [(alert, _)] = alert_receive(endpoint=endpoint, payload=payload)

    assert alert.incident.affected_tags == ["globex"]


def test_without_a_mapped_label_the_draft_says_no_one_will_receive_it(endpoint, clients, alice):
    [(alert, _)] = alert_receive(endpoint=endpoint, payload=alertmanager())
    alert_confirm(alert=alert, actor=alice)
    update = _draft(alert.incident)

    [blocker] = publish_blockers(update=update, incident=alert.incident)

    assert blocker.startswith("No one will receive this: the incident was opened by an alert from Production")
    with pytest.raises(ValidationError, match="No one will receive this"):
        update_publish(update=update, actor=alice)
    # Once the commander sets who is affected, it goes.
    incident_scope_change(incident=alert.incident, actor=alice, clients=[clients["acme"]], tags=[], countries=[])
    assert publish_blockers(update=update, incident=alert.incident) == []


def test_a_mapping_to_something_else_is_refused(endpoint):
    endpoint.scope_labels = {"customer": "contacts"}

    with pytest.raises(ValidationError) as error:
        endpoint.full_clean()

    assert "scope_labels" in error.value.message_dict


def test_the_endpoint_keeps_the_mapping(endpoint):
    assert json.loads(json.dumps(AlertEndpoint.objects.get(pk=endpoint.pk).scope_labels))["region"] == "countries"


def _draft(incident):
    incident.refresh_from_db()
    if incident.state == "draft":
        incident = incident_transition(incident=incident, name="activate", actor=incident.commander)
    return update_draft(incident=incident, author=incident.commander)
