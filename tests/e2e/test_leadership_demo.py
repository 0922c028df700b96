"""The first run, in Debian's Chromium: after `load_demo` (what `make run` loads), the demo's
leadership user logs in and reads a leadership page full of the demo's months of crises: the
closed incidents, NPS, open follow-ups and the charts, every figure one the product computed."""

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from accounts.demo import DEMO_PASSWORD
from accounts.models import Organization
from playbooks.leadership.metrics import leadership_overview
from playbooks.models import FollowUp, Incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The demo's passwords hashed as the tests' fast_password_hashing checks them.
FAST_HASHING = {"PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"]}
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "leadership-demo.png"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo loaded once for the module (about a minute), as `make run` loads it. The module's
    transactional test empties the database at its end, so the module holds one journey."""
    from django_tasks_db.management.commands import db_worker

    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch, override_settings(**FAST_HASHING):
        # The task worker keeps the loader's database connection (see tests/playbooks/test_demo_history.py).
        patch.setattr(db_worker, "close_old_connections", lambda: None)
        call_command("load_demo", stdout=io.StringIO())
        organization = Organization.objects.get(slug="northwind")
    yield organization


def test_the_leadership_user_lands_on_the_demos_history(demo, open_browser, live_server):
    closed = list(Incident.objects.filter(organization=demo, state="closed").order_by("detected_at"))
    open_follow_ups = FollowUp.objects.filter(incident__organization=demo, closed_at=None).count()
    overview = leadership_overview(organization=demo)
    nps = overview.total.scores.nps
    assert len(closed) == 7 and open_follow_ups > 0 and nps is not None

    page = open_browser(viewport={"width": 1400, "height": 1250})
    page.goto("/login/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("navigation").get_by_role("link", name="Leadership").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Leadership review"
    headline = page.locator("dl.headline")
    assert headline.locator(".figure", has_text="NPS").locator(".figure-value").inner_text() == f"{nps:+.0f}"
    assert headline.locator(".figure", has_text="Open follow-ups").locator(".figure-value").inner_text() == str(
        open_follow_ups
    )
    incidents = page.get_by_role("region", name="Incidents")
    for incident in closed:
        assert incidents.get_by_role("link", name=f"#{incident.pk} {incident.title}").is_visible()
    assert page.locator("#follow-ups tbody tr").count() == open_follow_ups

    charts = page.locator("svg.chart")
    assert charts.count() == 4
    csat = page.get_by_role("img", name="Average satisfaction score (1-5), by month")
    months = [totals.label for totals in overview.by_month if totals.scores.csat_average is not None]
    assert len(months) >= 3 and all(str(month) in csat.text_content() for month in months)
    nps_by_kind = page.get_by_role("img", name="Net promoter score, by playbook kind").text_content()
    assert len(overview.by_kind) == 3
    for totals in overview.by_kind:
        assert str(totals.label) in nps_by_kind
        assert totals.scores.nps is None or f"{totals.scores.nps:.0f}" in nps_by_kind

    if os.environ.get("CANDOR_SCREENSHOTS") == "1":  # redraws docs/screenshots/leadership-demo.png
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))  # the headline figures and the charts
