"""Fixtures for the hostile-input suite: the API's token clients and the console's incidents."""

from tests.api.conftest import api  # noqa: F401
from tests.console.conftest import (  # noqa: F401
    contacts,
    draft_incident,
    live_incident,
    outage_playbook,
)
