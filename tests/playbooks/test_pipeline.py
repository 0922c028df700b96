"""The one message pipeline and the one audience rule."""

import ast
from pathlib import Path

from playbooks.incidents.services import incident_create, incident_transition
from playbooks.status_pages.selectors import status_head
from playbooks.updates.audience import audience_clients
from tests.conftest import make_client, make_contact
from tests.playbooks.conftest import make_playbook

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
COMMS_BUILDERS = {"RecipientSpec", "ContentSpec", "messages_queue"}


def test_exactly_one_module_of_playbooks_builds_messages_for_comms():
    builders = set()
    for path in PLAYBOOKS.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        if names & COMMS_BUILDERS:
            builders.add(path.relative_to(PLAYBOOKS).as_posix())
    assert builders == {"updates/pipeline.py"}


def test_the_audience_and_the_status_page_agree_on_a_lower_case_country_rule(organization, alice):
    # The playbook's own rule names the country in lower case; the client is stored as "FR".
    playbook = make_playbook(organization, "outage", audience_countries=["fr"])
    french = make_client(organization, name="French", country="FR")
    make_client(organization, name="German", country="DE")
    reader = make_contact(french, name="Chloé Martin")
    incident = incident_create(playbook=playbook, title="Payments API errors", actor=alice)
    incident_transition(incident=incident, name="activate", actor=alice)

    assert [client.name for client in audience_clients(incident=incident)] == ["French"]
    assert status_head(incident_id=incident.pk, contact_id=reader.pk) is not None
