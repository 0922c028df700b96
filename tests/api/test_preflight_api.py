"""The preflight and the final notice through the API: broken words are a 400 naming the problem,
nobody to send to is refused, and the debrief waits for the final notice (409 saying why)."""

from playbooks.incidents.services import incident_create, incident_transition
from playbooks.updates.services import update_draft, update_publish
from tests.console.conftest import logged_in  # noqa: F401 (fixture)


def test_an_update_with_a_mistyped_variable_is_a_400_naming_it_and_the_allowed_list(api, alice, live_incident):
    texts = {"en": {"email_subject": "Down", "email_body": "About {{ incident_titel }}. {{ status_url }}"}}
    response = api(alice).post("/api/updates/", {"incident": live_incident.pk, "texts": texts}, format="json")
    assert response.status_code == 400
    message = " ".join(response.data["texts"])
    assert "{{ incident_titel }}" in message and "incident_title" in message and "next_update_at" in message


def test_editing_an_update_into_broken_template_syntax_is_a_400(api, alice, live_incident):
    update = update_draft(incident=live_incident, author=alice)
    for broken in ["{% if stage %}unclosed", '{% include "secrets.txt" %}', "{% load static %}"]:
        texts = {"en": {"email_subject": "Down", "email_body": broken}}
        response = api(alice).patch(f"/api/updates/{update.pk}/", {"texts": texts}, format="json")
        assert response.status_code == 400, broken
        assert "Template error" in str(response.data["texts"])


def test_publishing_to_an_empty_audience_is_refused(api, alice, outage_playbook, contacts):
    incident = incident_create(playbook=outage_playbook, actor=alice, title="Nobody here", affected_tags=["nobody"])
    incident = incident_transition(incident=incident, name="activate", actor=alice)
    update = update_draft(incident=incident, author=alice)
    check = api(alice).get(f"/api/updates/{update.pk}/check/")
    assert check.status_code == 400 and "No one will receive this" in check.data["audience"][0]
    response = api(alice).post(f"/api/updates/{update.pk}/publish/")
    assert response.status_code == 400
    assert "No one will receive this" in response.data["audience"][0]
    update.refresh_from_db()
    assert not update.is_published
    assert not incident.timeline.filter(kind="update_published").exists()


def test_the_check_and_preview_answer_the_preflight_of_a_good_update(api, alice, live_incident):
    update = update_draft(incident=live_incident, author=alice)
    check = api(alice).get(f"/api/updates/{update.pk}/check/")
    assert check.status_code == 200 and check.data["preflight"] == []
    preview = api(alice).get(f"/api/updates/{update.pk}/preview/")
    assert preview.status_code == 200 and preview.data["preflight"] == []


def test_a_promise_without_a_time_is_a_400_from_check_and_publish(api, alice, live_incident):
    incident_transition(incident=live_incident, name="identify", actor=alice)
    incident_transition(incident=live_incident, name="resolve", actor=alice, resolution_summary="Rolled back.")
    texts = {
        "en": {
            "email_subject": "Resolved",
            "email_body": "Resolved. Next update by {{ next_update_at }}. {{ status_url }}",
            "sms_body": "Resolved. {{ status_url }}",
        }
    }
    update = update_draft(incident=live_incident, author=alice, texts=texts)
    check = api(alice).get(f"/api/updates/{update.pk}/check/")
    assert check.status_code == 400
    assert any(error.startswith("en email: mentions the next update") for error in check.data["texts"])
    assert api(alice).post(f"/api/updates/{update.pk}/publish/").status_code == 400


def test_the_debrief_waits_for_a_final_notice_to_everyone_told(api, alice, live_incident):
    update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    incident_transition(incident=live_incident, name="identify", actor=alice)
    incident_transition(incident=live_incident, name="resolve", actor=alice, resolution_summary="Rolled back.")
    url = f"/api/incidents/{live_incident.pk}/transitions/"
    listed = {t["name"]: t["waits_for"] for t in api(alice).get(url).data}
    assert listed["start_debrief"].startswith("no final notice yet")
    response = api(alice).post(url, {"transition": "start_debrief"}, format="json")
    assert response.status_code == 409
    assert response.data["state"] == "resolved"
    assert "no final notice yet" in response.data["detail"]

    update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    assert {t["name"]: t["waits_for"] for t in api(alice).get(url).data}["start_debrief"] == ""
    response = api(alice).post(url, {"transition": "start_debrief"}, format="json")
    assert response.status_code == 200 and response.data["state"] == "debriefing"


def test_the_debrief_names_the_contacts_the_final_notice_missed(api, alice, live_incident, contacts, organization):
    from tests.conftest import make_client, make_contact

    update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    incident_transition(incident=live_incident, name="identify", actor=alice)
    incident_transition(incident=live_incident, name="resolve", actor=alice, resolution_summary="Rolled back.")
    # The final notice goes out to a narrower scope than the first update reached.
    live_incident.affected_tags = ["cards"]
    live_incident.save(update_fields=["affected_tags"])
    make_contact(make_client(organization, name="Card Co", tags=["cards"]), "Carla Card")
    update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    response = api(alice).post(
        f"/api/incidents/{live_incident.pk}/transitions/", {"transition": "start_debrief"}, format="json"
    )
    assert response.status_code == 409
    assert "the final notice has not reached" in response.data["detail"]
    assert "Anna" in response.data["detail"]


def test_an_incident_no_client_was_told_about_goes_to_the_debrief(api, alice, live_incident):
    incident_transition(incident=live_incident, name="identify", actor=alice)
    incident_transition(incident=live_incident, name="resolve", actor=alice, resolution_summary="False alarm.")
    response = api(alice).post(
        f"/api/incidents/{live_incident.pk}/transitions/", {"transition": "start_debrief"}, format="json"
    )
    assert response.status_code == 200 and response.data["state"] == "debriefing"


def test_the_console_shows_what_the_debrief_waits_for(logged_in, alice, live_incident):
    update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    incident_transition(incident=live_incident, name="identify", actor=alice)
    incident_transition(incident=live_incident, name="resolve", actor=alice, resolution_summary="Rolled back.")
    page = logged_in(alice).get(f"/incidents/{live_incident.pk}/").content.decode()
    assert "Waits: no final notice yet: 2 contact(s) were told about this incident" in page
    response = logged_in(alice).post(f"/incidents/{live_incident.pk}/transitions/start_debrief/")
    assert response.status_code == 409
    assert "Cannot start the debrief: no final notice yet" in response.content.decode()
