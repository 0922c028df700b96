"""Guessing is slow: wrong logins lock out, token requests, alerts and signed client links are
limited per IP (and per endpoint), each answering 429 with Retry-After."""

import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import make_user


@pytest.fixture
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.CANDOR_RATE_LIMITS = {"alerts": "5/minute", "client_links": "5/minute"}
    return settings


@pytest.fixture
def grace(organization):
    return make_user("grace", organization, "commander")


def test_wrong_console_logins_lock_out_even_the_right_password(client, grace, limits):
    for _ in range(5):
        client.post("/login/", {"username": "grace", "password": "guess"})
    response = client.post("/login/", {"username": "grace", "password": "pw-grace"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_wrong_token_requests_lock_out_even_the_right_password(grace, limits):
    api = APIClient()
    codes = [api.post("/api/auth/token/", {"username": "grace", "password": "guess"}).status_code for _ in range(5)]
    assert codes == [400] * 4 + [429]
    response = api.post("/api/auth/token/", {"username": "grace", "password": "pw-grace"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "token" not in response.json()


def test_token_requests_are_throttled_per_ip(grace, settings):
    settings.AXES_FAILURE_LIMIT = 1000
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/minute"}}
    from rest_framework.throttling import AnonRateThrottle

    AnonRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        api = APIClient()
        codes = [api.post("/api/auth/token/", {"username": "x", "password": "y"}).status_code for _ in range(4)]
    finally:
        from rest_framework.settings import api_settings

        AnonRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes[:3] == [400, 400, 400] and codes[3] == 429


def test_guessed_alert_secrets_are_throttled_per_ip_with_retry_after(client, limits, db):
    path = f"/alerts/{uuid.uuid4()}/"
    codes = [
        client.post(path, "{}", content_type="application/json", headers={"Authorization": "Bearer guess"}).status_code
        for _ in range(6)
    ]
    assert codes == [403] * 5 + [429]
    response = client.post(path, "{}", content_type="application/json", headers={"Authorization": "Bearer guess"})
    assert int(response["Retry-After"]) > 0


def test_one_alert_endpoint_is_limited_across_ip_addresses(limits, db):
    path = f"/alerts/{uuid.uuid4()}/"
    codes = [
        Client(REMOTE_ADDR=f"10.0.0.{n}").post(path, "{}", content_type="application/json").status_code
        for n in range(6)
    ]
    assert codes == [401] * 5 + [429]


@pytest.mark.parametrize("path", ["/s/{}/", "/survey/{}/", "/p/{}/"])
def test_guessed_client_links_are_throttled_per_ip(client, limits, db, path):
    codes = [client.get(path.format(f"guess{n}")).status_code for n in range(6)]
    assert 429 not in codes[:5] and codes[5] == 429
