"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, never a browser Playwright
downloads) against pytest-django's live server, with the fake Twilio/SendGrid server on loopback.

Playwright's sync API runs an event loop in the test's thread, so Django's guard against database
calls from async code is lifted (DJANGO_ALLOW_ASYNC_UNSAFE) during each browser test, for the test
thread's own setup and worker runs.
"""

import os
import shutil

import pytest

from tests.comms.conftest import fake_providers, fake_providers_server, provider_settings  # noqa: F401
from tests.console.conftest import fast_password_hashing  # noqa: F401

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module", autouse=True)
def allow_database_calls_beside_playwright():
    """Set for each browser test module (outliving its database teardown), not at import: a subprocess
    such as another module's `check --deploy` must not inherit it."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def chromium():
    """One Chromium per test module (a Playwright sync session cannot overlap another one)."""
    assert shutil.which(CHROMIUM) or os.path.exists(CHROMIUM), (
        f"{CHROMIUM} is missing: `make tools` installs Debian's chromium (the browser tests never download one)."
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


CSP_REFUSALS = ("Content Security Policy", "Refused to")


@pytest.fixture
def watch_csp():
    """watch_csp(context) listens to the console of every page in a browser context; a message saying
    the Content-Security-Policy refused something (an inline script or style, another origin) fails
    the test at its end, with the messages."""
    refusals = []

    def watch(context):
        context.on(
            "console",
            lambda message: refusals.append(message.text) if any(m in message.text for m in CSP_REFUSALS) else None,
        )
        return context

    yield watch
    if refusals:
        pytest.fail("The Content-Security-Policy refused:\n" + "\n".join(refusals))


@pytest.fixture
def open_browser(chromium, live_server, watch_csp):
    """open_browser(user, viewport=None) is a logged-in page in a browser context of its own."""
    contexts = []

    def open_for(user=None, *, viewport=None):
        context = watch_csp(
            chromium.new_context(base_url=live_server.url, viewport=viewport or {"width": 1280, "height": 900})
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # confirm() before publishing and cancelling
        if user is not None:
            page.goto("/login/")
            page.get_by_label("Username").fill(user.username)
            page.get_by_label("Password").fill(f"pw-{user.username}")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{live_server.url}/")
        return page

    yield open_for
    for context in contexts:
        context.close()
