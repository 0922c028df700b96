"""Fixtures for the integrations tests: the fake server (as webhook receiver, Slack and Teams),
playbooks, incidents and the API client."""

from tests.api.conftest import api  # noqa: F401
from tests.comms.conftest import fake_providers, fake_providers_server  # noqa: F401
from tests.playbooks.conftest import make_incident, outage_playbook  # noqa: F401
