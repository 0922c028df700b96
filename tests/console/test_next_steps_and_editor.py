"""No dead ends on the incident page and menus; who must approve is told; the playbook editor validates."""

import pytest
from django.urls import reverse

from comms.models import Message
from playbooks.incidents.services import incident_transition
from playbooks.models import Playbook, PlaybookVersion, StageMessage
from playbooks.updates.services import update_draft, update_publish
from tests.console.factories import make_outage_playbook

pytestmark = pytest.mark.django_db


def test_debriefing_incident_page_links_the_debrief_review_and_proof(live_incident, alice, logged_in):
    incident = incident_transition(incident=live_incident, name="identify", actor=alice)
    incident = incident_transition(incident=incident, name="resolve", actor=alice, resolution_summary="Fixed.")
    update_publish(update=update_draft(incident=incident, author=alice), actor=alice)
    incident_transition(incident=incident, name="start_debrief", actor=alice)

    page = logged_in(alice).get(reverse("incident_detail", args=[incident.pk])).content.decode()

    for name in ("debrief", "incident_review", "incident_proof"):
        assert reverse(name, args=[incident.pk]) in page
    assert "No steps are yours" not in page


def test_resolved_incident_offers_the_final_notice_before_the_debrief(live_incident, alice, logged_in):
    incident = incident_transition(incident=live_incident, name="identify", actor=alice)
    incident_transition(incident=incident, name="resolve", actor=alice, resolution_summary="Fixed.")

    page = logged_in(alice).get(reverse("incident_detail", args=[incident.pk])).content.decode()

    assert page.index("Send the final notice") < page.index("Start the debrief")


def test_forward_step_comes_before_problem_is_back(live_incident, alice, logged_in):
    incident = incident_transition(incident=live_incident, name="identify", actor=alice)
    incident_transition(incident=incident, name="monitor", actor=alice)

    page = logged_in(alice).get(reverse("incident_detail", args=[incident.pk])).content.decode()

    assert page.index("Resolve") < page.index("Problem is back")


def test_leadership_menu_links_the_leadership_page(carol, logged_in):
    page = logged_in(carol).get(reverse("incident_list")).content.decode()
    assert reverse("leadership") in page and reverse("follow_up_list") in page
    assert reverse("playbook_editor_list") not in page


def test_serious_incident_without_an_update_stands_out(live_incident, alice, logged_in):
    page = logged_in(alice).get(reverse("incident_list")).content.decode()
    assert live_incident.severity <= 2
    assert "unannounced" in page and "No update sent yet" in page


def test_drafting_an_update_that_needs_approval_tells_the_approver(organization, alice, frank, contacts):
    from playbooks.incidents.services import incident_create

    frank.email = "frank@northwind.example"
    frank.save()
    playbook = make_outage_playbook(organization, needs_approval=True, slug="strict")
    incident = incident_create(
        playbook=playbook, actor=alice, title="Outage", backup_commander=frank, affected_tags=["payments"]
    )
    incident = incident_transition(incident=incident, name="activate", actor=alice)

    update = update_draft(incident=incident, author=alice)

    notices = Message.objects.filter(user=frank, source__startswith=f"approval:{update.pk}:")
    assert notices.exists() and "approval" in notices.first().content.subject.lower()
    assert not Message.objects.filter(user=alice, source__startswith="approval:").exists()


def test_editor_refuses_an_unknown_variable_by_name_and_saves_good_words(organization, alice, logged_in):
    playbook = make_outage_playbook(organization)
    client = logged_in(alice)
    url = reverse("playbook_editor_stage", args=[playbook.pk, "investigating"])
    data = {
        "cadence_minutes": 30,
        "languages": ["de"],
        "update-de-email-subject": "Störung: {{ incident_title }}",
        "update-de-email-body": "Wir prüfen das. {{ incident_titel }}",
        "update-de-sms-body": "Störung bei {{ organization_name }}. {{ status_url }}",
    }

    refused = client.post(url, data)

    assert refused.status_code == 400
    assert "incident_titel" in refused.content.decode()
    assert not StageMessage.objects.filter(stage__playbook=playbook, body__contains="incident_titel").exists()

    data["update-de-email-body"] = "Wir prüfen das. Nächstes Update: {{ next_update_at }}. {{ status_url }}"
    assert client.post(url, data).status_code == 302
    saved = StageMessage.objects.get(
        stage__playbook=playbook, stage__stage="investigating", language="de", channel="sms"
    )
    assert saved.body == "Störung bei {{ organization_name }}. {{ status_url }}"
    version = PlaybookVersion.objects.filter(playbook=playbook, author=alice).get()
    history = client.get(reverse("playbook_editor_history", args=[playbook.pk])).content.decode()
    assert "Wir prüfen das" in history and f"v{version.number}" in history


def test_editor_preview_counts_sms_segments(organization, alice, logged_in, contacts):
    playbook = make_outage_playbook(organization)
    response = logged_in(alice).post(
        reverse("playbook_editor_preview", args=[playbook.pk, "investigating"]),
        {"language": "de", "update-de-sms-body": "Störung " * 30},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "segments" in page and "UCS-2" not in page


def test_duplicate_and_translate_from(organization, alice, logged_in):
    playbook = make_outage_playbook(organization)
    client = logged_in(alice)
    client.post(reverse("playbook_editor_duplicate", args=[playbook.pk]), {"name": "Outage EU"})
    copy = Playbook.objects.get(name="Outage EU")
    assert copy.stages.count() == playbook.stages.count()

    client.post(
        reverse("playbook_editor_translate", args=[copy.pk, "investigating"]),
        {"source_language": "en", "target_language": "ja"},
    )
    copied = StageMessage.objects.filter(stage__playbook=copy, language="ja")
    assert copied.exists() and all(message.is_untranslated for message in copied)


def test_editor_is_for_commanders_and_admins_only(organization, bob, logged_in):
    playbook = make_outage_playbook(organization)
    assert logged_in(bob).get(reverse("playbook_editor", args=[playbook.pk])).status_code == 403
