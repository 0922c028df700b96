"""Fixtures for the outbox tests: the fake Twilio/SendGrid server on loopback, settings that
point the real SDKs at it, and a live incident with a small cast of contacts to publish to."""

import datetime as dt

import pytest
import time_machine

from accounts.models import EmailStatus, SmsConsent
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import ChecklistItem, Playbook, PlaybookStage, StageMessage
from playbooks.updates.services import update_draft, update_publish
from tests.conftest import make_client, make_contact
from tests.fakes.providers import FakeProviders

TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TWILIO_AUTH_TOKEN = "test-auth-token"
TWILIO_MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
TWILIO_FROM_NUMBER = "+15005550006"


@pytest.fixture(scope="session")
def fake_providers_server():
    with FakeProviders() as server:
        yield server


@pytest.fixture
def fake_providers(fake_providers_server):
    """The session's fake server, with no requests, failures or errors left from another test."""
    fake_providers_server.reset()
    yield fake_providers_server
    fake_providers_server.reset()


@pytest.fixture
def provider_settings(settings, fake_providers):
    """Twilio and SendGrid, both answered by the fake server."""
    settings.CANDOR_SMS_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID = TWILIO_ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = TWILIO_AUTH_TOKEN
    settings.TWILIO_MESSAGING_SERVICE_SID = TWILIO_MESSAGING_SERVICE_SID
    settings.TWILIO_FROM_NUMBER = ""
    settings.TWILIO_API_BASE_URL = fake_providers.base_url
    settings.CANDOR_SMS_CONCURRENCY = 4
    settings.CANDOR_EMAIL_PROVIDER = "sendgrid"
    settings.SENDGRID_API_KEY = "SG.test"
    settings.SENDGRID_FROM_EMAIL = "Northwind Updates <updates@northwind.example>"
    settings.SENDGRID_API_HOST = fake_providers.base_url
    settings.PROVIDER_TIMEOUT_SECONDS = 0.5
    return settings


T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)

TEXTS = {
    "en": {
        "subject": "{{ incident_title }}: {{ stage }}",
        "body": "Dear {{ contact_name }} at {{ client_name }}. {{ stage }}. Next update by {{ next_update_at }}. "
        "Status: {{ status_url }} Preferences: {{ preferences_url }}",
        "sms": "{{ organization_name }}: {{ incident_title }}. {{ stage }}. Next update {{ next_update_at }}. "
        "{{ status_url }} Reply STOP to opt out.",
    },
    "de": {
        "subject": "{{ incident_title }}: {{ stage }}",
        "body": "Guten Tag {{ contact_name }}. {{ stage }}. Nächste Meldung: {{ next_update_at }}. {{ status_url }}",
        "sms": "{{ organization_name }}: {{ stage }}. Nächste Meldung {{ next_update_at }}. {{ status_url }}",
    },
    "ja": {
        "subject": "{{ incident_title }}",
        "body": "{{ stage }}。次回 {{ next_update_at }}。{{ status_url }}",
        "sms": "{{ organization_name }}: {{ stage }}。次回 {{ next_update_at }}。{{ status_url }}",
    },
}


def make_outage_playbook(organization, *, needs_approval=False, sms_text=None):
    playbook = Playbook.objects.create(organization=organization, kind="outage", name="Outage", slug="outage")
    for stage_name in ["investigating", "identified", "monitoring", "resolved"]:
        stage = PlaybookStage.objects.create(
            playbook=playbook, stage=stage_name, cadence_minutes=30, needs_approval=needs_approval
        )
        for language, words in TEXTS.items():
            StageMessage.objects.create(
                stage=stage, language=language, channel="email", subject=words["subject"], body=words["body"]
            )
            StageMessage.objects.create(stage=stage, language=language, channel="sms", body=sms_text or words["sms"])
    ChecklistItem.objects.create(playbook=playbook, title="First notice", due_after_hours=1)
    return playbook


@pytest.fixture
def cast_of_contacts(organization):
    berlin = make_client(organization, name="Berliner Bank", tags=["payments"])
    tokyo = make_client(
        organization,
        name="Tokyo Trading",
        country="JP",
        default_language="ja",
        timezone="Asia/Tokyo",
        tags=["payments"],
    )
    boston = make_client(
        organization,
        name="Boston Retail",
        country="US",
        default_language="en",
        timezone="America/New_York",
        tags=["payments"],
    )
    make_client(organization, name="Unaffected Ltd", country="GB", default_language="en", tags=["dashboard"])
    return {
        "anna": make_contact(berlin, "Anna Schmidt", phone="+4915112345678"),
        "kenji": make_contact(tokyo, "Kenji Sato", email="", phone="+819012345678", accepts_email=False),
        "john": make_contact(boston, "John Miller"),
        "fatima": make_contact(berlin, "Fatima Kaya", language="fr"),
        "olaf": make_contact(
            berlin, "Olaf Opted", phone="+4915198765432", sms_consent=SmsConsent.OPTED_OUT, accepts_email=False
        ),
        "bianca": make_contact(boston, "Bianca Bounced", email_status=EmailStatus.BOUNCED),
    }


@pytest.fixture
def live_incident(organization, alice, cast_of_contacts):
    with time_machine.travel(T0, tick=False):
        playbook = make_outage_playbook(organization)
        incident = incident_create(
            playbook=playbook, actor=alice, title="Payments API errors", affected_tags=["payments"]
        )
        return incident_transition(incident=incident, name="activate", actor=alice)


def publish_first_update(incident, alice):
    update = update_draft(incident=incident, author=alice)
    return update_publish(update=update, actor=alice)
