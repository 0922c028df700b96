"""Fixtures for the provider tests: the fake Twilio/SendGrid server on loopback, and settings
that point the real SDKs at it."""

import pytest

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
