"""The permission matrix (role x action) and isolation between organisations: another
organisation's object is a 404, never a 403 that would confirm it exists."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from playbooks.incidents.services import incident_create
from playbooks.updates.services import update_draft
from tests.conftest import make_client

ROLES = {"admin": "dave", "commander": "alice", "communicator": "bob", "leadership": "carol"}
EVERYONE = set(ROLES)
TEAM = {"admin", "commander", "communicator"}
RUNNERS = {"admin", "commander"}


@pytest.fixture
def world(organization, alice, frank, live_incident, contacts):
    """A live incident with a draft update written by frank (so every other runner may approve it),
    and a second incident still in draft."""
    return {
        "incident": live_incident,
        "draft_incident": incident_create(playbook=live_incident.playbook, actor=alice, title="Another"),
        "update": update_draft(incident=live_incident, author=frank),
        "client": contacts["anna"].client,
        "contact": contacts["anna"],
        "playbook": live_incident.playbook,
    }


def csv_file():
    return SimpleUploadedFile(
        "contacts.csv",
        b"client_name,client_country,client_language,client_timezone,"
        b"contact_name,contact_email\nNew Co,DE,de,Europe/Berlin,Ned,ned@new.example\n",
    )


# (action, method, path, payload, allowed roles, success status)
MATRIX = [
    ("list incidents", "get", "/api/incidents/", None, EVERYONE, 200),
    ("read an incident", "get", "/api/incidents/{incident}/", None, EVERYONE, 200),
    ("see the audience", "get", "/api/incidents/{incident}/audience/", None, EVERYONE, 200),
    ("read the timeline", "get", "/api/incidents/{incident}/timeline/", None, EVERYONE, 200),
    (
        "open an incident",
        "post",
        "/api/incidents/",
        lambda w: {"playbook": w["playbook"].pk, "title": "New"},
        RUNNERS,
        201,
    ),
    ("activate", "post", "/api/incidents/{draft_incident}/transitions/", {"transition": "activate"}, RUNNERS, 200),
    ("move along", "post", "/api/incidents/{incident}/transitions/", {"transition": "identify"}, RUNNERS, 200),
    ("list playbooks", "get", "/api/playbooks/", None, EVERYONE, 200),
    ("list clients", "get", "/api/clients/", None, EVERYONE, 200),
    ("add a client", "post", "/api/clients/", {"name": "New Co", "country": "DE"}, RUNNERS, 201),
    ("change a client", "patch", "/api/clients/{client}/", {"tier": "key"}, RUNNERS, 200),
    ("list contacts", "get", "/api/contacts/", None, EVERYONE, 200),
    (
        "add a contact",
        "post",
        "/api/contacts/",
        lambda w: {"client": w["client"].pk, "name": "N", "email": "n@x.example"},
        RUNNERS,
        201,
    ),
    ("change a contact", "patch", "/api/contacts/{contact}/", {"title": "CTO"}, RUNNERS, 200),
    ("import contacts", "post", "/api/contacts/import/", lambda w: {"file": csv_file()}, RUNNERS, 202),
    ("draft an update", "post", "/api/updates/", lambda w: {"incident": w["incident"].pk}, TEAM, 201),
    ("edit an update", "patch", "/api/updates/{update}/", lambda w: {"texts": w["update"].texts}, TEAM, 200),
    ("preview an update", "get", "/api/updates/{update}/preview/", None, EVERYONE, 200),
    ("check an update", "get", "/api/updates/{update}/check/", None, EVERYONE, 200),
    ("approve an update", "post", "/api/updates/{update}/approve/", {"note": "ok"}, RUNNERS, 200),
    ("publish an update", "post", "/api/updates/{update}/publish/", None, RUNNERS, 200),
    ("list messages", "get", "/api/messages/", None, EVERYONE, 200),
]


def call(client, method, path, payload, world):
    path = path.format(**{name: getattr(value, "pk", value) for name, value in world.items()})
    data = payload(world) if callable(payload) else payload
    if method == "get":
        return client.get(path)
    if path.endswith("/import/"):
        return client.post(path, data, format="multipart")
    return getattr(client, method)(path, data, format="json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("action", "method", "path", "payload", "allowed", "success"), MATRIX, ids=[row[0] for row in MATRIX]
)
def test_permission_matrix(api, world, request, role, action, method, path, payload, allowed, success):
    user = request.getfixturevalue(ROLES[role])
    response = call(api(user), method, path, payload, world)
    expected = success if role in allowed else 403
    assert response.status_code == expected, (role, action, response.data)


@pytest.mark.parametrize(
    ("action", "method", "path", "payload", "allowed", "success"),
    [row for row in MATRIX if "{" in row[2]],
    ids=[row[0] for row in MATRIX if "{" in row[2]],
)
def test_another_organisations_objects_are_404(api, world, eve, action, method, path, payload, allowed, success):
    response = call(api(eve), method, path, payload, world)
    assert response.status_code == 404, (action, response.data)


@pytest.mark.parametrize(
    "path", ["/api/incidents/", "/api/updates/", "/api/clients/", "/api/contacts/", "/api/messages/", "/api/playbooks/"]
)
def test_lists_show_only_the_callers_organisation(api, world, eve, other_organization, path):
    make_client(other_organization, name="Globex Client")
    assert api(eve).get(path).data["count"] == (1 if path == "/api/clients/" else 0)


def test_another_organisations_ids_cannot_be_used_as_input(api, world, eve, other_organization):
    client = api(eve)
    response = client.post("/api/updates/", {"incident": world["incident"].pk}, format="json")
    assert response.status_code == 400 and "incident" in response.data
    response = client.post(
        "/api/contacts/", {"client": world["client"].pk, "name": "X", "email": "x@x.example"}, format="json"
    )
    assert response.status_code == 400 and "client" in response.data
    response = client.get(f"/api/messages/?incident={world['incident'].pk}")
    assert response.data["count"] == 0


def test_a_member_without_an_organisation_is_refused(api, django_user_model):
    operator = django_user_model.objects.create_user(username="root", password="x", is_superuser=True)
    assert api(operator).get("/api/incidents/").status_code == 403
