"""The admin as another tenant's staff: every registered page (users and organisations included)
shows and changes only the member's organisation; only the installation operator sees all.

Northwind (the victim) has one row of every model the admin shows; Globex's admin, grace, tries
each page on them: the list, the change, history and delete pages, the password change of a
member, and forged form posts."""

import uuid

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.admin import organization_path_of
from accounts.models import JargonTerm, Organization, Role, User
from comms.models import TeamChannel, WebhookDelivery, WebhookEndpoint
from playbooks.alerts.services import alert_endpoint_create
from playbooks.models import (
    DeadlineAlert,
    InboundAlert,
    IncidentChecklistItem,
    PromiseEvent,
    SurveyQuestion,
)
from playbooks.updates.services import update_draft
from tests.conftest import make_client, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace(other_organization):
    """Globex's organisation admin: staff, not a superuser."""
    return make_user("grace", other_organization, Role.ADMIN, is_staff=True)


@pytest.fixture
def operator(db):
    return User.objects.create_superuser(username="oscar", password="pw-oscar", email="oscar@candor.example")


@pytest.fixture
def northwind_world(organization, live_incident, alice, dave, outage_playbook):
    """At least one Northwind row of every organisation-scoped model the admin registers."""
    update = update_draft(incident=live_incident, author=alice)
    PromiseEvent.objects.create(update=update, incident=live_incident, kind="reminder")
    item = IncidentChecklistItem.objects.filter(incident=live_incident).first() or IncidentChecklistItem.objects.create(
        incident=live_incident, title="Notify the authority", due_at=live_incident.detected_at
    )
    DeadlineAlert.objects.create(item=item, kind="overdue")
    endpoint, _ = alert_endpoint_create(
        organization=organization, name="Grafana", playbook=outage_playbook, on_duty_commander=alice
    )
    InboundAlert.objects.create(endpoint=endpoint, fingerprint="abc", title="Payments down", incident=live_incident)
    SurveyQuestion.objects.create(playbook=outage_playbook, texts={"en": "Was it clear?"})
    JargonTerm.objects.create(organization=organization, term="RCA", plain_words="why it happened")
    hook = WebhookEndpoint.objects.create(organization=organization, name="CRM", url="https://crm.example/hook")
    WebhookDelivery.objects.create(
        endpoint=hook, event_type="incident.activated", event_id=uuid.uuid4(), source="test", body="{}"
    )
    TeamChannel.objects.create(
        organization=organization, kind="slack", name="#incidents", webhook_url="https://hooks.slack.com/services/T/B/x"
    )
    return organization


def northwind_rows(model_admin, organization, operator_request):
    """Every Northwind row of the page's model, as the operator's page lists them."""
    path = organization_path_of(model_admin.model)
    if path is None:
        return None
    lookup = "pk" if path == "pk" else f"{path}_id"
    return list(model_admin.get_queryset(operator_request).filter(**{lookup: organization.pk}))


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_another_tenants_admin_sees_and_changes_nothing_of_northwind_on_any_page(
    client, rf, northwind_world, grace, operator, alice, dave
):
    organization = northwind_world
    operator_request = rf.get("/admin/")
    operator_request.user = operator
    client.force_login(grace)
    checked = []
    for model, model_admin in admin.site._registry.items():
        rows = northwind_rows(model_admin, organization, operator_request)
        changelist = client.get(admin_url(model, "changelist"))
        if rows is None:
            # Not an organisation's rows (tokens, tasks, login attempts): the operator's pages only.
            assert changelist.status_code == 403, model
            continue
        assert rows, f"the test world has no Northwind {model.__name__}: add one to northwind_world"
        assert changelist.status_code == 200, model
        for row in rows:
            assert admin_url(model, "change", row.pk) not in changelist.text, (model, row)
            for view in ("change", "history", "delete"):
                assert client.get(admin_url(model, view, row.pk)).status_code == 404, (model, view, row)
            assert client.post(admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 404, (model, row)
            assert model._default_manager.filter(pk=row.pk).exists()
        checked.append(model)
    assert {Organization, User} <= set(checked)
    assert len(checked) >= 13


def test_another_tenants_admin_cannot_reset_a_members_password_or_change_their_role(client, alice, grace):
    password = alice.password
    client.force_login(grace)

    reset = client.post(
        reverse("admin:auth_user_password_change", args=[alice.pk]),
        {"password1": "taken-over-123!", "password2": "taken-over-123!", "usable_password": "true"},
    )
    change = client.post(
        admin_url(User, "change", alice.pk),
        {"username": "alice", "role": "leadership", "is_staff": "on", "is_superuser": "on", "is_active": "on"},
    )

    assert (reset.status_code, change.status_code) == (404, 404)
    alice.refresh_from_db()
    assert alice.password == password and alice.role == Role.COMMANDER
    assert not alice.is_staff and not alice.is_superuser


def test_an_organisation_admin_cannot_grant_superuser_or_move_a_member(client, organization, other_organization, dave):
    cody = make_user("cody", organization, Role.COMMUNICATOR)
    client.force_login(dave)
    page = client.get(admin_url(User, "change", cody.pk))
    assert page.status_code == 200 and 'name="is_superuser"' not in page.text and 'name="organization"' not in page.text

    response = client.post(
        admin_url(User, "change", cody.pk),
        {
            "username": "cody",
            "role": "commander",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "organization": other_organization.pk,
            "date_joined_0": "2025-01-01",
            "date_joined_1": "09:00:00",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    cody.refresh_from_db()
    assert cody.role == Role.COMMANDER and cody.is_staff
    assert not cody.is_superuser and cody.organization == organization


def test_a_member_added_by_an_organisation_admin_joins_that_organisation(
    client, organization, other_organization, dave
):
    client.force_login(dave)
    response = client.post(
        admin_url(User, "add"),
        {
            "username": "nina",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
            "usable_password": "true",
            "organization": other_organization.pk,
            "is_superuser": "on",
            "role": "communicator",
        },
    )

    assert response.status_code == 302
    nina = User.objects.get(username="nina")
    assert nina.organization == organization and not nina.is_superuser


def test_choices_in_admin_forms_are_the_members_organisation_only(client, organization, other_organization, dave, eve):
    make_client(other_organization, name="Globex Client")
    client.force_login(dave)

    page = client.get(admin_url(Organization, "changelist"))
    assert "Globex" not in page.text
    add_client = client.get(reverse("admin:accounts_clientaccount_add"))
    assert "Globex" not in add_client.text
    add_incident = client.get(reverse("admin:playbooks_incident_add"))
    assert "Globex Client" not in add_incident.text and ">eve<" not in add_incident.text
    users = client.get(admin_url(User, "changelist"))
    assert admin_url(User, "change", eve.pk) not in users.text and "Globex" not in users.text
    assert client.get(admin_url(Organization, "add")).status_code == 403


def test_only_the_operator_sees_every_organisation(client, organization, other_organization, operator):
    client.force_login(operator)

    page = client.get(admin_url(Organization, "changelist"))

    assert "Northwind" in page.text and "Globex" in page.text
