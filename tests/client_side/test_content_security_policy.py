"""A strict Content-Security-Policy (django-csp) on the console and the client pages: scripts and
styles only from our own origin, never inline; the admin and the API docs are relaxed on their
paths only, and only for styles. The browser tests (tests/e2e) fail on any refusal it causes."""

import datetime as dt

import time_machine

from tests.client_side.conftest import T0, status_path


def directives(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_strict(response):
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_the_console_sends_the_strict_policy(client, alice):
    client.force_login(alice)
    response = client.get("/")
    assert response.status_code == 200
    assert_strict(response)
    assert "<script>" not in response.content.decode()


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_a_status_page_sends_the_strict_policy_and_no_inline_script(client, recall, anna):
    response = client.get(status_path(recall, anna))
    assert response.status_code == 200
    assert_strict(response)
    page = response.content.decode()
    assert "<script>" not in page and "/static/candor/status.js" in page  # the countdown, from a file


def test_the_login_page_sends_the_strict_policy(client):
    assert_strict(client.get("/login/"))


def test_the_admin_and_api_docs_allow_inline_styles_but_never_inline_scripts(admin_client, client, alice):
    client.force_login(alice)
    for response in (admin_client.get("/admin/"), client.get("/api/docs/")):
        assert response.status_code == 200
        policy = directives(response)
        assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
    assert "<script>" not in client.get("/api/docs/").content.decode()  # the split view: a script file


def test_the_policy_built_once_follows_a_change_of_the_settings(client, settings):
    assert_strict(client.get("/login/"))  # built and kept
    assert_strict(client.get("/login/"))  # reused
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], "script-src": ["'self'", "cdn.example"]}
    }
    assert directives(client.get("/login/"))["script-src"] == ["'self'", "cdn.example"]
    settings.CANDOR_CSP_RELAXED_PATHS = {"/login/": {"style-src": ["'self'", "'unsafe-inline'"]}}
    assert directives(client.get("/login/"))["style-src"] == ["'self'", "'unsafe-inline'"]
