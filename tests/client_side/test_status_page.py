"""A contact's private status page: reached only through their own signed link, in their
language and timezone, revalidated with ETags, gone (410) some time after the incident closes."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comms.links import preferences_url, sign_value
from playbooks.incidents.links import STATUS_SALT, status_token
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import Incident
from tests.client_side.conftest import T0, make_recall_playbook, publish, status_path
from tests.conftest import make_client, make_contact


def html_lang(response):
    return re.search(r'<html lang="([^"]+)">', response.content.decode()).group(1)


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_a_contact_sees_title_scope_stage_updates_next_update_and_whom_to_contact(client, recall, anna):
    response = client.get(status_path(recall, anna))
    assert response.status_code == 200
    page = response.content.decode()
    assert html_lang(response) == "de"
    assert '<h1 id="incident-title">Recall of lot 4711</h1>' in page
    assert "Ihre Dienste: lot-4711." in page  # what is affected for Berliner Bank
    assert "Rückruf angekündigt" in page  # the stage in plain German
    # The published update's own words: not the email, so no greeting and no link to this page.
    assert "Rückruf angekündigt. Bitte sperren Sie Charge 4711." in page
    assert "Guten Tag" not in page and "Anna Schmidt" not in page
    assert f'<a href="http://localhost:8000{status_path(recall, anna)}">' not in page
    # The promise, as an absolute local time that needs no JavaScript, and a countdown hook.
    assert 'Nächste Meldung bis <time datetime="2026-11-24T10:00:00+00:00">24.11., 11:00 Uhr CET</time>' in page
    assert 'data-due="2026-11-24T10:00:00+00:00"' in page
    assert "Ihre Kundenbetreuung bei Northwind: <strong>frank</strong>" in page
    assert "/p/" in page  # the preferences link
    assert response["Cache-Control"] == "private, no-cache"
    assert response["Referrer-Policy"] == "same-origin"


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_a_japanese_contact_in_tokyo_reads_japanese_stage_words_and_jst_times(client, recall, kenji):
    response = client.get(status_path(recall, kenji), headers={"Accept-Language": "en"})
    page = response.content.decode()
    assert html_lang(response) == "ja"
    assert response["Content-Language"] == "ja"  # Kenji's language, whatever the browser asks for
    assert "リコールを公表しました" in page
    assert "11月24日 18:00 (JST)" in page  # published at 09:00 UTC
    assert '次回のお知らせ：<time datetime="2026-11-24T10:00:00+00:00">11月24日 19:00 (JST)</time>まで' in page
    assert "リコールを公表しました。ロット4711を隔離してください。" in page and "Kenji Sato様" not in page
    assert "対象サービス：lot-4711" in page


@time_machine.travel(T0, tick=False)
def test_a_contact_whose_language_the_update_lacks_reads_the_update_in_their_clients_language(client, recall, clients):
    fatima = make_contact(clients["berlin"], "Fatima Kaya", language="fr")
    page = client.get(status_path(recall, fatima)).content.decode()
    assert '<html lang="fr">' in page  # the page's own words are French
    assert "Situation actuelle" in page
    assert re.search(r'<article class="pub-update[^"]*" id="update-\d+" lang="de">', page)  # no French words in it


@time_machine.travel(T0, tick=False)
def test_tampered_and_forged_tokens_are_not_found(client, recall, anna, kenji):
    token = status_token(recall.pk, anna.pk)
    assert client.get(f"/s/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}/").status_code == 404
    # Kenji's id in Anna's signed token: the signature no longer matches.
    _, _, signature = token.rpartition(".")
    assert client.get(f"/s/{recall.pk}-{kenji.pk}.{signature}/").status_code == 404
    assert client.get(f"/s/{recall.pk}-{anna.pk}/").status_code == 404
    assert client.get("/s/nonsense/").status_code == 404
    # Signed with another purpose's salt (a preferences token): refused.
    assert client.get(f"/s/{sign_value(f'{recall.pk}-{anna.pk}', salt='candor.comms.preferences')}/").status_code == 404


@time_machine.travel(T0, tick=False)
def test_a_genuine_link_to_an_incident_that_does_not_concern_the_contacts_client_is_not_found(
    client, recall, luis, organization, other_organization, alice, eve
):
    # Luis's client is not affected: even a correctly signed link shows nothing.
    assert client.get(status_path(recall, luis)).status_code == 404
    # A contact of another organisation, on this organisation's incident.
    stranger = make_contact(make_client(other_organization, name="Globex Client", tags=["lot-4711"]), "Sam Stranger")
    assert client.get(status_path(recall, stranger)).status_code == 404
    # An incident that does not exist, and a draft incident (nothing was ever sent).
    assert client.get(f"/s/{sign_value(f'999999-{luis.pk}', salt=STATUS_SALT)}/").status_code == 404
    draft = incident_create(playbook=recall.playbook, actor=alice, title="Draft", affected_tags=["lot-9999"])
    assert client.get(status_path(draft, luis)).status_code == 404


@time_machine.travel(T0, tick=False)
def test_a_deactivated_contact_has_no_page(client, recall, anna):
    anna.is_active = False
    anna.save()
    assert client.get(status_path(recall, anna)).status_code == 404


def close(incident, at):
    # Closing needs a completed debrief (another feature's business): only the outcome matters here.
    Incident.objects.filter(pk=incident.pk).update(state="closed", closed_at=at)


def test_the_link_works_for_the_configured_days_after_closing_then_says_it_expired(client, recall, anna, settings):
    settings.CANDOR_STATUS_LINK_DAYS_AFTER_CLOSE = 30
    closed_at = T0 + dt.timedelta(days=2)
    close(recall, closed_at)
    with time_machine.travel(closed_at + dt.timedelta(days=30) - dt.timedelta(seconds=1), tick=False):
        response = client.get(status_path(recall, anna))
        assert response.status_code == 200
        assert "Abgeschlossen" in response.content.decode()  # the stage: closed
        assert "Weitere Meldungen sind nicht geplant." in response.content.decode()
    with time_machine.travel(closed_at + dt.timedelta(days=30), tick=False):
        response = client.get(status_path(recall, anna))
        assert response.status_code == 410
        page = response.content.decode()
        assert html_lang(response) == "de"
        assert "Dieser Link ist abgelaufen" in page
        assert "am 26.11., 10:00 Uhr CET abgeschlossen" in page
        # Confirming through an expired link is refused the same way.
        assert client.post(status_path(recall, anna) + "confirm/").status_code == 410


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_the_page_is_revalidated_with_its_etag_and_a_new_update_shows_on_the_next_request(client, recall, anna, alice):
    path = status_path(recall, anna)
    first = client.get(path)
    etag = first["ETag"]
    assert etag.startswith('W/"')
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""

    with time_machine.travel(T0 + dt.timedelta(minutes=30), tick=False):
        texts = {
            "de": {
                "email_subject": "Neu",
                "email_body": "Charge 4712 ist ebenfalls betroffen. {{ status_url }}",
                "sms_body": "",
            }
        }
        publish(recall, alice, texts=texts)
        after = client.get(path, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after["ETag"] != etag
    assert "Charge 4712 ist ebenfalls betroffen." in after.content.decode()
    assert "24.11., 11:30 Uhr CET" in after.content.decode()  # the new promise: 60 minutes after 09:30 UTC


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_a_stage_change_without_an_update_shows_on_the_next_request(client, recall, anna, alice):
    path = status_path(recall, anna)
    etag = client.get(path)["ETag"]
    incident_transition(incident=recall, name="offer_remedy", actor=alice)
    response = client.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "Eine Abhilfe ist verfügbar" in response.content.decode()


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_a_page_already_rendered_costs_one_query_and_so_does_a_revalidation(client, recall, anna):
    path = status_path(recall, anna)
    client.get(path)  # renders and caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    assert len(statements(queries)) == 1
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path, headers={"If-None-Match": response["ETag"]}).status_code == 304
    assert len(statements(queries)) == 1


def statements(queries):
    # Savepoints are the test's transaction at work (on PostgreSQL), not the page's.
    return [query for query in queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_contacts_of_one_client_share_the_rendering_but_each_reads_their_own_links(client, recall, anna, clients):
    bert = make_contact(clients["berlin"], "Bert Braun")
    anna_page = client.get(status_path(recall, anna)).content.decode()
    bert_page = client.get(status_path(recall, bert)).content.decode()
    assert "Anna" not in bert_page and "Bert" not in anna_page  # the page greets no one
    assert preferences_url(bert.pk) in bert_page and preferences_url(anna.pk) not in bert_page
    assert preferences_url(anna.pk) in anna_page


@time_machine.travel(T0, tick=False)
def test_values_in_update_texts_are_escaped(client, organization, alice):
    # The page greets no one, so the contact's name is not on it; the client's name, the title and
    # the summary are, and each is escaped.
    evil = make_client(organization, name="<script>alert(1)</script>", tags=["lot-4711"])
    mallory = make_contact(evil, "<script>alert(2)</script>")
    playbook = make_recall_playbook(organization)
    incident = incident_create(
        playbook=playbook, actor=alice, title="<b>Recall</b>", summary="<em>Lot</em> 4711", affected_tags=["lot-4711"]
    )
    incident = incident_transition(incident=incident, name="activate", actor=alice)
    body = "Hallo {{ contact_name }},\nFür {{ client_name }} <i>hi</i>. {{ status_url }}"
    publish(incident, alice, texts={"de": {"email_subject": "x", "email_body": body, "sms_body": ""}})
    page = client.get(status_path(incident, mallory)).content.decode()
    assert "<script>alert" not in page and "alert(2)" not in page
    assert "Für &lt;script&gt;alert(1)&lt;/script&gt; &lt;i&gt;hi&lt;/i&gt;." in page
    assert "&lt;b&gt;Recall&lt;/b&gt;" in page and "&lt;em&gt;Lot&lt;/em&gt; 4711" in page


@pytest.mark.parametrize("method", ["put", "delete"])
def test_the_status_page_only_answers_get(client, recall, anna, method):
    assert getattr(client, method)(status_path(recall, anna)).status_code == 405
