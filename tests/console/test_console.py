"""The commander console through Django's test client: pages, forms next to their errors,
refusals on the page, and another organisation's objects answering 404."""

import datetime as dt
import re
from html import unescape

import pytest
from django.utils import timezone

from accounts.models import JargonTerm
from comms.models import Message
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import Incident, IncidentUpdate
from playbooks.updates.services import update_approve, update_draft, update_publish
from tests.console.factories import make_outage_playbook


def text(response):
    """The page's visible text, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def field_errors(response, field_id):
    """The error list rendered right next to one field."""
    match = re.search(rf'<ul class="errors" id="{field_id}_error">(.*?)</ul>', response.content.decode(), re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", match.group(1)))).strip() if match else ""


# ---------------------------------------------------------------------------------------------
# Logging in and the incident list


def test_the_console_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_logging_in_and_out(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_a_wrong_password_is_said_on_the_login_page(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in text(response)


def test_incident_list_shows_live_incidents_first_and_overdue_ones_in_red(logged_in, alice, outage_playbook, contacts):
    old = incident_create(playbook=outage_playbook, actor=alice, title="Old draft")
    live = incident_transition(
        incident=incident_create(playbook=outage_playbook, actor=alice, title="Checkout down"),
        name="activate",
        actor=alice,
    )
    Incident.objects.filter(pk=live.pk).update(next_update_due_at=timezone.now() - dt.timedelta(minutes=12))
    response = logged_in(alice).get("/")
    page = text(response)
    assert page.index("Checkout down") < page.index("Old draft")
    assert "overdue by 12 min" in page
    assert re.search(r'<tr class="live overdue[^"]*">', response.content.decode())
    assert f"/incidents/{old.pk}/" in response.content.decode()


def test_other_organisations_incidents_are_not_listed(logged_in, eve, draft_incident):
    assert "Payments API errors" not in text(logged_in(eve).get("/"))


# ---------------------------------------------------------------------------------------------
# Activating a playbook with the audience preview


def test_activating_creates_a_draft_and_previews_the_audience_before_sending(
    logged_in, alice, outage_playbook, contacts
):
    client = logged_in(alice)
    response = client.post(
        "/incidents/new/", {"playbook": outage_playbook.pk, "title": "Payments API errors", "affected_tags": "payments"}
    )
    incident = Incident.objects.get()
    assert response["Location"] == f"/incidents/{incident.pk}/"
    assert incident.state == "draft"
    page = text(client.get(response["Location"]))
    assert "2 clients, 4 contacts: 2 by email, 1 by SMS, 2 unreachable." in page
    assert "Olaf Opted (Berliner Bank): SMS consent: opted out" in page
    assert "Bianca Bounced (Boston Retail): email: bounced (hard)" in page
    assert "Activate: start investigating" in page
    # One SMS (Anna, in German) of two segments now that it carries her status link.
    assert re.search(r"SMS: 2 segments take about 2 s to leave at 1 segment per second", page)
    assert Message.objects.count() == 0


def test_the_preview_warns_when_sms_would_pass_the_queue_limit(logged_in, alice, draft_incident, settings):
    settings.CANDOR_SMS_SEGMENTS_PER_SECOND = 0.00001
    page = text(logged_in(alice).get(f"/incidents/{draft_incident.pk}/"))
    assert "This passes the provider's 10-hour queue limit" in page


def test_the_new_incident_form_shows_errors_next_to_fields(logged_in, alice, outage_playbook):
    response = logged_in(alice).post(
        "/incidents/new/", {"playbook": outage_playbook.pk, "title": "", "affected_countries": "Germany"}
    )
    assert response.status_code == 400
    assert field_errors(response, "id_title") == "This field is required."
    assert "Use two-letter country codes" in field_errors(response, "id_affected_countries")
    # Screen readers hear the error with the field.
    title_input = re.search(r'<input[^>]*name="title"[^>]*>', response.content.decode()).group(0)
    assert 'aria-invalid="true"' in title_input and "id_title_error" in title_input


def test_service_errors_land_next_to_their_field(logged_in, alice, outage_playbook):
    response = logged_in(alice).post(
        "/incidents/new/", {"playbook": outage_playbook.pk, "title": "Down", "backup_commander": alice.pk}
    )
    assert response.status_code == 400
    assert "The backup must be another commander" in field_errors(response, "id_backup_commander")


@pytest.mark.parametrize("user", ["bob", "carol"])
def test_only_commanders_and_admins_open_incidents(logged_in, user, request):
    assert logged_in(request.getfixturevalue(user)).get("/incidents/new/").status_code == 403


def test_activating_moves_the_incident_to_investigating(logged_in, alice, draft_incident):
    response = logged_in(alice).post(f"/incidents/{draft_incident.pk}/transitions/activate/", {"activate-note": "Go"})
    assert response.status_code == 302
    draft_incident.refresh_from_db()
    assert draft_incident.state == "investigating"


# ---------------------------------------------------------------------------------------------
# Transitions


def test_resolving_asks_for_the_resolution_summary(logged_in, alice, live_incident):
    client = logged_in(alice)
    incident_transition(incident=live_incident, name="identify", actor=alice)
    page = client.get(f"/incidents/{live_incident.pk}/")
    assert 'name="resolve-resolution_summary"' in page.content.decode()
    response = client.post(f"/incidents/{live_incident.pk}/transitions/resolve/", {"resolve-resolution_summary": ""})
    assert response.status_code == 400
    assert field_errors(response, "id_resolve-resolution_summary") == "This field is required."
    client.post(
        f"/incidents/{live_incident.pk}/transitions/resolve/",
        {"resolve-resolution_summary": "Rolled back the faulty release."},
    )
    live_incident.refresh_from_db()
    assert live_incident.state == "resolved"
    assert live_incident.resolution_summary == "Rolled back the faulty release."


def test_an_illegal_transition_is_refused_on_the_page_with_the_state(logged_in, alice, draft_incident):
    response = logged_in(alice).post(f"/incidents/{draft_incident.pk}/transitions/identify/", {})
    assert response.status_code == 409
    assert "“Cause identified” is not possible now: the incident is in the stage “Draft (not announced)”." in text(
        response
    )


def test_leadership_sees_no_steps_and_may_not_take_them(logged_in, carol, live_incident):
    client = logged_in(carol)
    page = text(client.get(f"/incidents/{live_incident.pk}/"))
    assert "Cause identified" not in page and "No steps are yours to take now" in page
    assert client.post(f"/incidents/{live_incident.pk}/transitions/identify/", {}).status_code == 403


# ---------------------------------------------------------------------------------------------
# Updates: draft, check, edit, approve, publish


def test_drafting_fills_in_the_playbooks_words_and_shows_preview_and_check(logged_in, bob, live_incident):
    client = logged_in(bob)
    response = client.post(f"/incidents/{live_incident.pk}/updates/new/")
    update = IncidentUpdate.objects.get()
    assert response["Location"] == f"/updates/{update.pk}/"
    page = text(client.get(response["Location"]))
    assert "Plain-language check" in page and "Flesch-Kincaid grade" in page
    assert "en for John Miller (Boston Retail)" in page
    assert "Hello John Miller. We have a problem: Payments API errors." in page
    assert "de for Anna Schmidt (Berliner Bank)" in page
    assert "Commanders and admins publish." in page  # bob is a communicator


def test_bad_template_syntax_is_an_error_next_to_its_field(logged_in, alice, live_incident):
    update = update_draft(incident=live_incident, author=alice)
    data = {
        f"{language}__{field}": value for language, fields in update.texts.items() for field, value in fields.items()
    }
    data["de__sms_body"] = "Hallo {% if contact_name %}"
    response = logged_in(alice).post(f"/updates/{update.pk}/", data)
    assert response.status_code == 400
    assert "Template error" in field_errors(response, "id_de__sms_body")


def test_a_service_error_about_a_language_lands_on_its_field(logged_in, alice, live_incident):
    update = update_draft(incident=live_incident, author=alice)
    data = {
        f"{language}__{field}": value for language, fields in update.texts.items() for field, value in fields.items()
    }
    data["de__email_subject"] = ""
    response = logged_in(alice).post(f"/updates/{update.pk}/", data)
    assert response.status_code == 400
    assert field_errors(response, "id_de__email_subject") == "de: an email needs a subject."


def test_service_errors_land_on_their_field_in_a_german_console(logged_in, alice, live_incident):
    alice.language = "de"
    alice.save()
    update = update_draft(incident=live_incident, author=alice)
    data = {
        f"{language}__{field}": value for language, fields in update.texts.items() for field, value in fields.items()
    }
    client = logged_in(alice)
    response = client.post(f"/updates/{update.pk}/", {**data, "de__email_subject": ""})
    assert response.status_code == 400
    assert field_errors(response, "id_de__email_subject") == "de: Eine E-Mail braucht einen Betreff."

    # A broken variable in a subject is named next to the subject, not the body.
    response = client.post(f"/updates/{update.pk}/", {**data, "en__email_subject": "Payments {{ client_nme }}"})
    assert response.status_code == 400
    assert field_errors(response, "id_en__email_subject").startswith(
        "en E-Mail: Unbekannte Variable {{ client_nme }}; die Variablen sind: client_name,"
    )
    assert field_errors(response, "id_en__email_body") == ""


def test_editing_after_approval_withdraws_it(logged_in, alice, frank, organization, contacts):
    playbook = make_outage_playbook(organization, needs_approval=True, slug="strict")
    incident = incident_transition(
        incident=incident_create(playbook=playbook, actor=alice, title="Down", affected_tags=["payments"]),
        name="activate",
        actor=alice,
    )
    update = update_approve(update=update_draft(incident=incident, author=alice), actor=frank)
    data = {
        f"{language}__{field}": value for language, fields in update.texts.items() for field, value in fields.items()
    }
    data["en__sms_body"] += " Sorry."
    client = logged_in(alice)
    response = client.post(f"/updates/{update.pk}/", data, follow=True)
    assert "the approval was withdrawn" in text(response)
    update.refresh_from_db()
    assert not update.is_approved
    assert "You wrote this update, so you cannot approve it" in text(response)


def test_approval_and_publishing_through_the_console(logged_in, alice, frank, organization, contacts, client):
    playbook = make_outage_playbook(organization, needs_approval=True, slug="strict")
    incident = incident_transition(
        incident=incident_create(playbook=playbook, actor=alice, title="Down", affected_tags=["payments"]),
        name="activate",
        actor=alice,
    )
    update = update_draft(incident=incident, author=alice)
    logged_in(alice)
    response = client.post(f"/updates/{update.pk}/publish/")
    assert response.status_code == 400
    assert "needs a second commander's approval" in text(response)
    assert client.post(f"/updates/{update.pk}/approve/", {"note": "mine"}).status_code == 403  # the author

    logged_in(frank)
    client.post(f"/updates/{update.pk}/approve/", {"note": "Facts checked with SRE."})
    update.refresh_from_db()
    assert update.is_approved and update.approval_note == "Facts checked with SRE."

    logged_in(alice)
    response = client.post(f"/updates/{update.pk}/publish/")
    assert response["Location"] == f"/incidents/{incident.pk}/"
    assert "Published to 2 contacts by email and 1 by SMS." in text(client.get(response["Location"]))
    assert Message.objects.filter(source=f"update:{update.pk}").count() == 3


def test_warnings_do_not_block_publishing(logged_in, alice, live_incident):
    JargonTerm.objects.create(organization=live_incident.organization, term="problem", plain_words="trouble")
    update = update_draft(incident=live_incident, author=alice)
    client = logged_in(alice)
    assert "Jargon: “problem”; say “trouble” instead." in text(client.get(f"/updates/{update.pk}/"))
    client.post(f"/updates/{update.pk}/publish/")
    update.refresh_from_db()
    assert update.is_published


def test_the_live_fragment_shows_delivery_counts_and_the_timeline(logged_in, alice, live_incident, run_worker):
    update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    client = logged_in(alice)
    fragment = client.get(f"/incidents/{live_incident.pk}/live/")
    html = fragment.content.decode()
    assert 'hx-trigger="every 4s"' in html and 'hx-swap-oob="true"' in html
    assert re.search(r'data-count="queued">\s*3<', html)
    run_worker()
    html = client.get(f"/incidents/{live_incident.pk}/live/").content.decode()
    assert re.search(r'data-count="sent">\s*3<', html)
    assert "Update published" in text(fragment)


def test_completing_a_checklist_item(logged_in, bob, live_incident):
    item = live_incident.checklist.get()
    logged_in(bob).post(f"/incidents/{live_incident.pk}/checklist/{item.pk}/complete/", {"note": "Posted"})
    item.refresh_from_db()
    assert item.is_done and item.completion_note == "Posted"


# ---------------------------------------------------------------------------------------------
# Jargon list


def test_the_jargon_list_is_editable_by_the_team(logged_in, bob, organization):
    client = logged_in(bob)
    client.post("/jargon/", {"term": "latency", "plain_words": "slowness", "language": ""})
    response = client.post("/jargon/", {"term": "latency", "plain_words": "delay", "language": ""})
    assert response.status_code == 400
    assert field_errors(response, "id_term") == "This term is already on the list."
    term = JargonTerm.objects.get(organization=organization)
    client.post(f"/jargon/{term.pk}/delete/")
    assert not JargonTerm.objects.exists()


def test_leadership_reads_the_jargon_list_but_does_not_edit_it(logged_in, carol):
    client = logged_in(carol)
    assert client.get("/jargon/").status_code == 200
    assert client.post("/jargon/", {"term": "x", "plain_words": "y"}).status_code == 403


# ---------------------------------------------------------------------------------------------
# Another organisation's objects


def test_another_organisations_objects_are_404(logged_in, eve, live_incident, alice):
    update = update_draft(incident=live_incident, author=alice)
    item = live_incident.checklist.get()
    client = logged_in(eve)
    for url in [f"/incidents/{live_incident.pk}/", f"/incidents/{live_incident.pk}/live/", f"/updates/{update.pk}/"]:
        assert client.get(url).status_code == 404, url
    for url in [
        f"/incidents/{live_incident.pk}/transitions/identify/",
        f"/incidents/{live_incident.pk}/updates/new/",
        f"/incidents/{live_incident.pk}/checklist/{item.pk}/complete/",
        f"/updates/{update.pk}/approve/",
        f"/updates/{update.pk}/publish/",
    ]:
        assert client.post(url, {}).status_code == 404, url
    live_incident.refresh_from_db()
    assert live_incident.state == "investigating"


# ---------------------------------------------------------------------------------------------
# Alerts from monitoring, promises and deadlines (the cadence feature's records, shown here)


@pytest.fixture
def monitoring_alert(organization, alice, outage_playbook):
    from playbooks.alerts.services import alert_endpoint_create, alert_receive

    endpoint, _ = alert_endpoint_create(
        organization=organization, name="Grafana", playbook=outage_playbook, on_duty_commander=alice
    )
    ((alert, _),) = alert_receive(endpoint=endpoint, payload={"title": "Checkout 5xx above 5%", "severity": 2})
    return alert


def test_a_commander_confirms_an_alert_and_its_incident_is_activated(logged_in, alice, monitoring_alert):
    client = logged_in(alice)
    page = text(client.get("/"))
    assert "Alerts from monitoring, waiting for a decision" in page and "Checkout 5xx above 5%" in page
    response = client.post(f"/monitoring-alerts/{monitoring_alert.pk}/confirm/", {"note": "Real, customers see it"})
    monitoring_alert.refresh_from_db()
    assert response["Location"] == f"/incidents/{monitoring_alert.incident_id}/"
    assert monitoring_alert.incident.state == "investigating"
    assert "Checkout 5xx above 5%" not in text(client.get("/")).split("Incidents")[2].split("Activate a playbook")[0]


def test_dismissing_an_alert_cancels_its_draft(logged_in, alice, monitoring_alert):
    logged_in(alice).post(f"/monitoring-alerts/{monitoring_alert.pk}/dismiss/")
    monitoring_alert.refresh_from_db()
    assert monitoring_alert.status == "dismissed"
    assert monitoring_alert.incident is None or monitoring_alert.incident.state == "cancelled"


def test_communicators_see_alerts_but_do_not_decide(logged_in, bob, monitoring_alert):
    client = logged_in(bob)
    assert "Confirm and activate" not in text(client.get("/"))
    assert client.post(f"/monitoring-alerts/{monitoring_alert.pk}/confirm/").status_code == 403


def test_another_organisations_alert_is_404(logged_in, eve, monitoring_alert):
    assert logged_in(eve).post(f"/monitoring-alerts/{monitoring_alert.pk}/confirm/").status_code == 404


def test_the_incident_page_shows_how_promises_went(logged_in, alice, live_incident):
    update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    page = text(logged_in(alice).get(f"/incidents/{live_incident.pk}/"))
    assert (
        "Promises of a next update: 0 kept on time · 0 late · 0 covered by a holding statement · 0 missed · 1 open."
        in page
    )


def test_checklist_items_close_to_their_deadline_are_marked_due_soon(logged_in, alice, live_incident):
    import time_machine

    item = live_incident.checklist.get()
    with time_machine.travel(item.due_at - dt.timedelta(minutes=3), tick=False):
        page = text(logged_in(alice).get(f"/incidents/{live_incident.pk}/"))
    assert "due soon: due" in page and "in 3 min" in page


def test_in_debriefing_the_page_shows_close_waiting_for_the_debrief(logged_in, live_incident, alice):
    incident = live_incident
    for name in ("identify",):
        incident = incident_transition(incident=incident, name=name, actor=alice)
    incident = incident_transition(incident=incident, name="resolve", actor=alice, resolution_summary="Fixed.")
    incident = incident_transition(incident=incident, name="start_debrief", actor=alice)
    html = unescape(logged_in(alice).get(f"/incidents/{incident.pk}/").content.decode())
    assert "Still needs: a complete debrief: write what went well, what did not go well, then mark it complete." in html
    assert re.search(r'<button[^>]*value="close"[^>]* disabled', html)
    refused = logged_in(alice).post(f"/incidents/{incident.pk}/transitions/close/")
    assert refused.status_code == 409
    assert "It still needs a complete debrief" in unescape(refused.content.decode())
