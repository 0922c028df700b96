"""A contact's preferences page and one-click unsubscribe: changes are recorded on the contact and
in an audit row, and the very next publish honours them."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from accounts.models import SmsConsent
from comms.links import preferences_token
from comms.models import Message, PreferenceChange
from tests.client_side.conftest import T0, publish

LATER = T0 + dt.timedelta(minutes=20)


def preferences_path(contact):
    return f"/p/{preferences_token(contact.pk)}/"


def save(client, contact, **choices):
    page = client.get(preferences_path(contact)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = {"csrfmiddlewaretoken": token, "language": choices.pop("language", contact.language)}
    data.update({field: "on" for field, wanted in choices.items() if wanted})
    return client.post(preferences_path(contact), data)


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


@time_machine.travel(LATER, tick=False)
def test_the_page_shows_the_contacts_channels_in_their_language(browser, anna):
    response = browser.get(preferences_path(anna))
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="de">' in page
    assert '<label for="id_accepts_email">E-Mail an anna.schmidt@example.com</label>' in page
    assert (
        'id="id_accepts_email" checked' in page and 'id="id_wants_sms" aria-describedby="sms-consent" checked' in page
    )
    assert '<option value="" selected>Wie Berliner Bank: Deutsch</option>' in page
    assert response["Cache-Control"] == "private, no-store"


def test_opting_out_of_sms_on_the_page_means_no_sms_in_the_next_update(browser, recall, anna, kenji, alice):
    with time_machine.travel(LATER, tick=False):
        response = save(browser, anna, accepts_email=True, wants_sms=False)
        assert response.status_code == 303
        assert "Gespeichert" in browser.get(response["Location"]).content.decode()
        anna.refresh_from_db()
        assert (anna.sms_consent, anna.sms_opted_out_at) == (SmsConsent.OPTED_OUT, LATER)
        [change] = PreferenceChange.objects.filter(contact=anna)
        assert (change.via, change.at, change.changes) == ("page", LATER, {"sms_consent": ["granted", "opted_out"]})

        update = publish(recall, alice)
    channels = set(Message.objects.filter(source=f"update:{update.pk}", contact=anna).values_list("channel", flat=True))
    assert channels == {"email"}
    assert Message.objects.filter(source=f"update:{update.pk}", contact=kenji, channel="sms").exists()


def test_opting_in_again_records_consent_with_its_time_and_sms_resumes(browser, recall, anna, alice):
    with time_machine.travel(LATER, tick=False):
        save(browser, anna, accepts_email=True, wants_sms=False)
    back = LATER + dt.timedelta(minutes=5)
    with time_machine.travel(back, tick=False):
        save(browser, anna, accepts_email=True, wants_sms=True)
        anna.refresh_from_db()
        assert (anna.sms_consent, anna.sms_consent_at, anna.sms_opted_out_at) == (SmsConsent.GRANTED, back, None)
        update = publish(recall, alice)
    assert Message.objects.filter(source=f"update:{update.pk}", contact=anna, channel="sms").exists()
    assert [c.changes for c in PreferenceChange.objects.filter(contact=anna)] == [
        {"sms_consent": ["granted", "opted_out"]},
        {"sms_consent": ["opted_out", "granted"]},
    ]


def test_a_new_language_is_used_for_the_very_next_message(browser, recall, anna, alice):
    with time_machine.travel(LATER, tick=False):
        save(browser, anna, accepts_email=True, wants_sms=True, language="ja")
        update = publish(recall, alice)
    email = Message.objects.get(source=f"update:{update.pk}", contact=anna, channel="email")
    assert email.content.language == "ja"
    assert email.rendered[1].startswith("Anna Schmidt様、リコールを公表しました。")
    # Her timezone is still Berlin's: the Japanese words carry a CET time.
    assert "11月24日 11:20 (CET)" in email.rendered[1]
    assert '<html lang="ja">' in browser.get(preferences_path(anna)).content.decode()


def test_saving_without_changes_records_nothing(browser, anna):
    save(browser, anna, accepts_email=True, wants_sms=True)
    assert not PreferenceChange.objects.exists()


def test_turning_sms_on_without_a_mobile_number_is_impossible(browser, luis):
    response = save(browser, luis, accepts_email=True, wants_sms=True)
    assert response.status_code == 303
    luis.refresh_from_db()
    assert not luis.accepts_sms
    assert "We have no mobile number for you" in browser.get(preferences_path(luis)).content.decode()


def test_a_forged_preferences_link_is_not_found(client, anna):
    token = preferences_token(anna.pk)
    assert client.get(f"/p/{anna.pk + 1}.{token.rpartition('.')[2]}/").status_code == 404
    assert client.post(f"/p/{anna.pk + 1}.{token.rpartition('.')[2]}/unsubscribe/").status_code == 404


def test_one_click_unsubscribe_stops_email_without_a_csrf_token_and_is_idempotent(browser, recall, anna, alice):
    path = preferences_path(anna) + "unsubscribe/"
    with time_machine.travel(LATER, tick=False):
        # As a mail client sends it (RFC 8058): a bare form POST, no cookie, no CSRF token.
        response = browser.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200
        assert "Erledigt" in response.content.decode()
        again = browser.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
        assert again.status_code == 200
        anna.refresh_from_db()
        assert not anna.accepts_email
        [change] = PreferenceChange.objects.filter(contact=anna)
        assert (change.via, change.changes) == ("one_click", {"accepts_email": [True, False]})
        update = publish(recall, alice)
    assert set(
        Message.objects.filter(source=f"update:{update.pk}", contact=anna).values_list("channel", flat=True)
    ) == {"sms"}


def test_opening_the_unsubscribe_link_only_asks(client, anna):
    response = client.get(preferences_path(anna) + "unsubscribe/")
    assert response.status_code == 200
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in response.content.decode()
    anna.refresh_from_db()
    assert anna.accepts_email
    assert not PreferenceChange.objects.exists()


def test_every_email_carries_one_click_unsubscribe_headers_pointing_at_this_page(
    recall, anna, run_worker, settings, tmp_path
):
    settings.CANDOR_OUTBOX_DIR = tmp_path  # the console provider writes each message as sent
    with time_machine.travel(T0, tick=False):
        run_worker()
    email = Message.objects.get(contact=anna, channel="email", source=f"update:{recall.updates.first().pk}")
    sent = (tmp_path / "email" / f"{email.pk}.txt").read_text()
    assert f"List-Unsubscribe: <http://localhost:8000{preferences_path(anna)}unsubscribe/>" in sent
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in sent


def test_links_already_sent_keep_working_whatever_the_signing_code_becomes(settings):
    """Tokens out in clients' inboxes must open the same pages after any change of the signing
    code: known answers for a fixed key."""
    from comms.links import contact_id_from_preferences_token, preferences_token
    from playbooks.incidents.links import ids_from_status_token, status_token, survey_token

    settings.SECRET_KEY = "known-answer-secret-key-for-links-0123456789abcdef"
    assert preferences_token(42) == "42.B14ECPH1hYTacSH3BUfNaA"
    assert status_token(7, 42) == "7-42.F67SwaQJigjjvcLviT_g3w"
    assert survey_token(7, 42) == "7-42.Q_BDmO7tfyFKuMkMsUZ23Q"
    assert contact_id_from_preferences_token("42.B14ECPH1hYTacSH3BUfNaA") == 42
    assert ids_from_status_token("7-42.F67SwaQJigjjvcLviT_g3w") == (7, 42)
    assert ids_from_status_token("7-42.F67SwaQJigjjvcLviT_g3x") is None
