"""A member's console language and timezone: chosen on their settings page, applied to every console
page by candor.middleware.MemberLocaleMiddleware, and nobody else's.

Without the committed catalogs (locale/) the language is seen through the pseudo-locale "xx" of
tests/test_translations.py, where every message reads "⟦message⟧"."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from accounts.models import User
from playbooks.incidents.services import incident_create
from tests.console.factories import make_outage_playbook
from tests.test_translations import PSEUDO, pseudo_locale, pseudo_locale_dir, wrap  # noqa: F401

pytestmark = pytest.mark.django_db

NOON_UTC = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def html_lang(response):
    return re.search(r'<html lang="([^"]*)"', response.content.decode()).group(1)


@pytest.fixture
def incident(organization, alice):
    with time_machine.travel(NOON_UTC, tick=False):
        return incident_create(playbook=make_outage_playbook(organization), actor=alice, title="Payments API errors")


def test_member_reads_the_console_in_their_language_and_others_in_their_browsers(pseudo_locale, alice, bob, client):
    User.objects.filter(pk=alice.pk).update(language=PSEUDO)

    client.force_login(alice)
    response = client.get(reverse("incident_list"), HTTP_ACCEPT_LANGUAGE="en")
    assert wrap("Incidents") in response.content.decode()
    assert html_lang(response) == PSEUDO and response["Content-Language"] == PSEUDO

    client.force_login(bob)  # no language chosen: the browser's
    english = client.get(reverse("incident_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">Incidents<" in english and wrap("Incidents") not in english
    assert wrap("Incidents") in client.get(reverse("incident_list"), HTTP_ACCEPT_LANGUAGE=PSEUDO).content.decode()


def test_german_member_reads_german(alice, client):
    alice.language = "de"
    alice.save()
    client.force_login(alice)
    response = client.get(reverse("incident_list"), HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert html_lang(response) == "de"
    assert "Vorfälle" in page and "Abmelden" in page and "Incident Commander" in page


def test_times_are_shown_in_the_members_timezone(incident, alice, bob, client):
    User.objects.filter(pk=alice.pk).update(timezone="Asia/Tokyo")
    client.force_login(alice)
    assert "24 Nov 21:00" in client.get(reverse("incident_list")).content.decode()  # 12:00 UTC in Tokyo

    client.force_login(bob)  # no timezone chosen: Northwind's, Europe/Berlin
    page = client.get(reverse("incident_list")).content.decode()
    assert "24 Nov 13:00" in page and "24 Nov 21:00" not in page


def test_a_time_shown_with_its_zone_names_the_members_zone(incident, carol, client):
    User.objects.filter(pk=carol.pk).update(timezone="America/New_York")
    client.force_login(carol)
    page = client.get(reverse("incident_proof", args=[incident.pk])).content.decode()
    assert "2026-11-24 07:00:00 EST" in page


def test_client_pages_keep_their_own_language_when_a_member_opens_them(pseudo_locale, organization, alice, client):
    User.objects.filter(pk=alice.pk).update(language=PSEUDO, timezone="Asia/Tokyo")
    client.force_login(alice)
    response = client.get(reverse("public-status", args=[organization.slug]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert html_lang(response) == "en" and response["Content-Language"] == "en"
    assert "⟦" not in response.content.decode()


def test_settings_page_saves_language_and_timezone(alice, client):
    client.force_login(alice)
    page = client.get(reverse("member_settings")).content.decode()
    assert "The browser&#x27;s language" in page and "The organisation&#x27;s (Europe/Berlin)" in page

    response = client.post(reverse("member_settings"), {"language": "ja", "timezone": "Asia/Tokyo"}, follow=True)

    alice.refresh_from_db()
    assert (alice.language, alice.timezone) == ("ja", "Asia/Tokyo")
    assert response.redirect_chain == [(reverse("member_settings"), 302)]
    assert html_lang(response) == "ja"


def test_the_saved_notice_is_in_the_language_just_chosen(alice, client):
    client.force_login(alice)
    response = client.post(reverse("member_settings"), {"language": "de", "timezone": ""}, follow=True)
    assert "Ihre Einstellungen sind gespeichert." in response.content.decode()


def test_blank_settings_go_back_to_the_browser_and_the_organisation(alice, client):
    User.objects.filter(pk=alice.pk).update(language="de", timezone="Asia/Tokyo")
    client.force_login(alice)
    client.post(reverse("member_settings"), {"language": "", "timezone": ""})
    alice.refresh_from_db()
    assert (alice.language, alice.timezone) == ("", "")


def test_an_unknown_timezone_is_a_form_error_and_nothing_changes(alice, client):
    client.force_login(alice)
    response = client.post(reverse("member_settings"), {"language": "de", "timezone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Select a valid choice. Mars/Olympus is not one of the available choices." in response.content.decode()
    alice.refresh_from_db()
    assert (alice.language, alice.timezone) == ("", "")


def test_an_unknown_language_is_a_form_error(alice, client):
    client.force_login(alice)
    response = client.post(reverse("member_settings"), {"language": "klingon", "timezone": ""})
    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.language == ""


@pytest.mark.parametrize("member", ["alice", "bob", "carol", "dave"])
def test_every_role_reaches_the_settings_page_from_the_menu(member, request, client):
    client.force_login(request.getfixturevalue(member))
    page = client.get(reverse("incident_list")).content.decode()
    assert f'href="{reverse("member_settings")}"' in page
    assert client.get(reverse("member_settings")).status_code == 200


def test_the_settings_page_needs_a_login(client):
    response = client.get(reverse("member_settings"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
