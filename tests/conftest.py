"""Shared fixtures: two organisations and a small cast.

Northwind (the organisation under test): alice is a commander, bob a communicator, carol in
leadership, dave an admin, frank a second commander. Globex (another tenant): eve, a commander.
"""

import datetime as dt

import pytest

from accounts.models import ClientAccount, Contact, Organization, Role, SmsConsent, User

ESTABLISHED_AT = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def make_user(username, organization, role, **extra):
    return User.objects.create_user(
        username=username, password="pw-" + username, organization=organization, role=role, **extra
    )


def make_client(organization, name="Acme GmbH", **extra):
    extra.setdefault("country", "DE")
    extra.setdefault("default_language", "de")
    extra.setdefault("timezone", "Europe/Berlin")
    return ClientAccount.objects.create(organization=organization, name=name, **extra)


def make_contact(client, name="Anna Schmidt", **extra):
    extra.setdefault("email", name.lower().replace(" ", ".") + "@example.com")
    if extra.get("phone"):
        extra.setdefault("accepts_sms", True)
        extra.setdefault("sms_consent", SmsConsent.GRANTED)
    return Contact.objects.create(client=client, name=name, **extra)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def organization(db):
    # Northwind has used Candor for years: incidents detected before "now" are not before it existed.
    return Organization.objects.create(
        name="Northwind", slug="northwind", country="DE", timezone="Europe/Berlin", created_at=ESTABLISHED_AT
    )


@pytest.fixture
def other_organization(db):
    return Organization.objects.create(
        name="Globex", slug="globex", country="US", timezone="America/New_York", created_at=ESTABLISHED_AT
    )


@pytest.fixture
def alice(organization):
    return make_user("alice", organization, Role.COMMANDER)


@pytest.fixture
def frank(organization):
    return make_user("frank", organization, Role.COMMANDER)


@pytest.fixture
def bob(organization):
    return make_user("bob", organization, Role.COMMUNICATOR)


@pytest.fixture
def carol(organization):
    return make_user("carol", organization, Role.LEADERSHIP)


@pytest.fixture
def dave(organization):
    return make_user("dave", organization, Role.ADMIN, is_staff=True)


@pytest.fixture
def eve(other_organization):
    return make_user("eve", other_organization, Role.COMMANDER)


@pytest.fixture
def run_worker(db, monkeypatch):
    """Run the database task worker until no task is due now (time-machine sets "now").

    The worker recycles database connections between tasks, which would end the test's own
    transaction on PostgreSQL; in tests the connection is kept.
    """
    import io

    from django.core.management import call_command
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run():
        call_command(
            "db_worker",
            "--batch",
            "--queue-name",
            "*",
            "--no-startup-delay",
            "--no-reload",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )

    return run
