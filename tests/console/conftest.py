"""Fixtures for the console tests: a playbook, contacts, and incidents in a few states."""

import pytest

from playbooks.incidents.services import incident_create, incident_transition
from tests.console.factories import make_contacts, make_outage_playbook


@pytest.fixture
def contacts(organization):
    return make_contacts(organization)


@pytest.fixture
def outage_playbook(organization):
    return make_outage_playbook(organization)


@pytest.fixture
def draft_incident(outage_playbook, alice, contacts):
    return incident_create(
        playbook=outage_playbook, actor=alice, title="Payments API errors", affected_tags=["payments"]
    )


@pytest.fixture
def live_incident(draft_incident, alice):
    return incident_transition(incident=draft_incident, name="activate", actor=alice)


@pytest.fixture
def logged_in(client):
    """Log a member in: logged_in(alice) returns the test client."""

    def log_in(user):
        client.force_login(user)
        return client

    return log_in


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The cast's passwords are hashed per test; the production hasher costs a third of a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
