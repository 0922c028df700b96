"""Fixtures for the API tests: a token client per member, plus the console tests' playbook,
contacts and incidents (re-exported, so both suites test the same situations)."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.console.conftest import (  # noqa: F401
    contacts,
    draft_incident,
    fast_password_hashing,
    live_incident,
    outage_playbook,
)


@pytest.fixture
def api(db):
    """api(user) is a client authenticated with the user's token; api() is anonymous."""

    def client_for(user=None):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for
