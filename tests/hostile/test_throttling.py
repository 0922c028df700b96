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


# ---------------------------------------------------------------------------------------------
# Behind the deployment's reverse proxy every request comes from the proxy's address: the limits
# count the client's address the proxy wrote, and never one a client wrote itself.

PROXY = "127.0.0.1"


def through_proxy(client_address, forged=None):
    """A request as nginx forwards it: the client's own X-Forwarded-For (if any), then the
    address nginx received it from."""
    forwarded = f"{forged}, {client_address}" if forged else client_address
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


def test_behind_the_proxy_one_client_using_up_its_limit_leaves_the_others_theirs(limits, db):
    limits.CANDOR_TRUSTED_PROXIES = 1
    rushing = through_proxy("203.0.113.5")
    codes = [rushing.get(f"/s/guess{n}/").status_code for n in range(6)]
    assert 429 not in codes[:5] and codes[5] == 429
    assert through_proxy("203.0.113.6").get("/s/guess-other/").status_code != 429


def test_without_a_trusted_proxy_a_forged_forwarded_address_changes_nothing(limits, db):
    codes = [
        Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}").get(f"/s/guess{n}/").status_code
        for n in range(6)
    ]
    assert 429 not in codes[:5] and codes[5] == 429


def test_behind_the_proxy_a_client_cannot_forge_its_way_past_the_login_lockout(grace, limits):
    limits.CANDOR_TRUSTED_PROXIES = 1
    for n in range(5):
        through_proxy("203.0.113.9", forged=f"10.0.0.{n}").post(
            "/login/", {"username": f"nobody{n}", "password": "guess"}
        )
    # Locked out by address (every guess was for another username), whatever it forges next.
    response = through_proxy("203.0.113.9", forged="10.0.0.99").post(
        "/login/", {"username": "grace", "password": "pw-grace"}
    )
    assert response.status_code == 429
    # Another client behind the same proxy signs in.
    response = through_proxy("203.0.113.10").post("/login/", {"username": "grace", "password": "pw-grace"})
    assert response.status_code == 302


def test_api_token_throttle_ignores_a_forwarded_address_the_client_wrote(grace, settings):
    settings.AXES_FAILURE_LIMIT = 1000
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/minute"}}
    from rest_framework.settings import api_settings
    from rest_framework.throttling import AnonRateThrottle

    AnonRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        codes = [
            APIClient(REMOTE_ADDR="198.51.100.8", HTTP_X_FORWARDED_FOR=f"10.1.1.{n}")
            .post("/api/auth/token/", {"username": "x", "password": "y"})
            .status_code
            for n in range(4)
        ]
    finally:
        AnonRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes[:3] == [400, 400, 400] and codes[3] == 429


@pytest.mark.parametrize(
    ("forwarded", "proxies", "client"),
    [
        ("203.0.113.5", 1, "203.0.113.5"),
        ("10.0.0.1, 203.0.113.5", 1, "203.0.113.5"),  # the client's own entry is left of ours
        ("10.0.0.1, 203.0.113.5, 192.0.2.1", 2, "203.0.113.5"),  # a CDN, then nginx
        ("203.0.113.5", 2, PROXY),  # shorter than the chain: not from our proxies
        ("not-an-address", 1, PROXY),
        ("", 1, PROXY),
        ("203.0.113.5", 0, PROXY),
    ],
)
def test_the_client_address_is_the_one_our_outermost_proxy_saw(forwarded, proxies, client):
    from candor.middleware import forwarded_client_address

    assert forwarded_client_address(PROXY, forwarded, proxies) == client
