"""The playbook editor: checklist items added, changed, reordered and removed as the admin and a
playbook file validate them; a stage's words checked by the same preflight that publishing runs."""

import pytest
from django.urls import reverse

from playbooks.models import ChecklistItem, PlaybookVersion, StageMessage
from tests.console.factories import make_contacts, make_outage_playbook

pytestmark = pytest.mark.django_db

GOOD_SMS = "Störung bei {{ organization_name }}. Nächste Meldung {{ next_update_at }}. {{ status_url }}"


def _item(playbook, **values):
    data = {
        "title": "Notify the regulator",
        "due_after_hours": "",
        "due_after_business_days": "",
        "business_calendar": "",
        "guidance": "",
        "description": "",
        "position": "",
    }
    data.update(values)
    return data


def test_a_checklist_item_is_changed_and_moved_first_with_a_version(organization, alice, logged_in):
    playbook = make_outage_playbook(organization)
    client = logged_in(alice)
    url = reverse("playbook_editor_checklist", args=[playbook.pk])
    client.post(url, _item(playbook, title="Tell the board", due_after_hours="4"))
    first, second = playbook.checklist_items.all()
    assert (first.title, second.title) == ("Post the first notice", "Tell the board")

    response = client.post(
        url,
        _item(
            playbook,
            item=second.pk,
            title="Notify the SEC",
            due_after_business_days="4",
            business_calendar="us",
            guidance="SEC Form 8-K Item 1.05",
            position="1",
        ),
    )

    assert response.status_code == 302
    items = list(playbook.checklist_items.all())
    assert [item.title for item in items] == ["Notify the SEC", "Post the first notice"]
    assert [item.position for item in items] == [0, 1]
    changed = items[0]
    assert (changed.pk, changed.due_after_hours, changed.due_after_business_days) == (second.pk, None, 4)
    assert (changed.business_calendar, changed.guidance) == ("US", "SEC Form 8-K Item 1.05")
    latest = PlaybookVersion.objects.filter(playbook=playbook).order_by("-created_at", "-pk").first()
    assert latest.author == alice and latest.snapshot["checklist"][0]["title"] == "Notify the SEC"
    history = client.get(reverse("playbook_editor_history", args=[playbook.pk])).content.decode()
    assert "Notify the SEC" in history and "Tell the board" in history  # the diff shows both


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"due_after_hours": "24", "due_after_business_days": "2"}, "due_after_business_days", "not both"),
        ({"due_after_hours": "-1"}, "due_after_hours", "greater than or equal to 0"),
        ({"title": "   "}, "title", "required"),
        ({"business_calendar": "USA"}, "business_calendar", "2 characters"),
        ({"business_calendar": "1x"}, "business_calendar", "two-letter country code"),
        ({"guidance": "x" * 301}, "guidance", "300 characters"),
    ],
)
def test_a_refused_checklist_change_keeps_what_was_typed_and_changes_nothing(
    organization, alice, logged_in, values, field, words
):
    playbook = make_outage_playbook(organization)
    item = playbook.checklist_items.get()
    version = playbook.version
    data = _item(playbook, item=item.pk, **{"title": "Call the insurer", **values})

    response = logged_in(alice).post(reverse("playbook_editor_checklist", args=[playbook.pk]), data)

    assert response.status_code == 400
    form = response.context["checklist"][0].form
    assert field in form.errors and words in " ".join(form.errors[field])
    assert f'value="{data["title"]}"' in response.content.decode() or not data["title"].strip()
    item.refresh_from_db()
    playbook.refresh_from_db()
    assert (item.title, item.due_after_hours, playbook.version) == ("Post the first notice", 1, version)


def test_removing_a_checklist_item_is_a_new_version(organization, alice, logged_in):
    playbook = make_outage_playbook(organization)
    client = logged_in(alice)
    client.post(reverse("playbook_editor_checklist", args=[playbook.pk]), _item(playbook, title="Tell the board"))
    first = playbook.checklist_items.get(title="Post the first notice")
    version = playbook.saved_versions.count()

    response = client.post(reverse("playbook_editor_checklist_remove", args=[playbook.pk, first.pk]))

    assert response.status_code == 302
    remaining = playbook.checklist_items.get()
    assert (remaining.title, remaining.position) == ("Tell the board", 0)
    latest = playbook.saved_versions.order_by("-pk").first()
    assert playbook.saved_versions.count() == version + 1
    assert latest.author == alice and [entry["title"] for entry in latest.snapshot["checklist"]] == ["Tell the board"]


def test_another_organisations_checklist_item_is_not_found(organization, alice, logged_in, other_organization):
    mine = make_outage_playbook(organization)
    theirs = make_outage_playbook(other_organization)
    item = theirs.checklist_items.get()
    client = logged_in(alice)

    assert client.post(reverse("playbook_editor_checklist_remove", args=[mine.pk, item.pk])).status_code == 404
    assert (
        client.post(reverse("playbook_editor_checklist", args=[mine.pk]), _item(mine, item=item.pk)).status_code == 404
    )
    assert ChecklistItem.objects.filter(pk=item.pk).exists()


def _stage_post(client, playbook, **words):
    data = {
        "cadence_minutes": 30,
        "languages": ["de"],
        "update-de-email-subject": "Störung: {{ incident_title }}",
        "update-de-email-body": "Wir prüfen das. Nächste Meldung {{ next_update_at }}.\n\n{{ status_url }}",
        "update-de-sms-body": GOOD_SMS,
    }
    data.update(words)
    return client.post(reverse("playbook_editor_stage", args=[playbook.pk, "investigating"]), data)


@pytest.mark.parametrize(
    ("words", "told"),
    [
        ({"update-de-sms-body": "Störung bei {{ organisation_name }}. {{ status_url }}"}, "{{ organisation_name }}"),
        ({"update-de-sms-body": "Störung. Nächste Meldung {{ next_update_at }}."}, "status link"),
        ({"update-de-sms-body": "Störung. Mehr: https://example.org/x {{ status_url }}"}, "https://example.org/x"),
        ({"update-de-sms-body": "Störung. Nächste Meldung spätestens . {{ status_url }}"}, "without a time"),
        ({"update-de-sms-body": "Störung bei {{ organization_name }}. " * 30 + "{{ status_url }}"}, "segments"),
        ({"holding-de-sms-body": "Wir melden uns. {{ include }}"}, "{{ include }}"),
        # The model's own rule, named by the text it concerns (not the field "subject").
        ({"update-de-email-subject": "S" * 201}, "Email subject: Ensure this value has at most 200 characters"),
    ],
)
def test_a_stage_save_is_refused_for_what_publishing_would_refuse(organization, alice, logged_in, words, told):
    make_contacts(organization)
    playbook = make_outage_playbook(organization)
    before = set(StageMessage.objects.filter(stage__playbook=playbook).values_list("pk", "body"))

    response = _stage_post(logged_in(alice), playbook, **words)

    assert response.status_code == 400
    assert told in response.content.decode().replace("&#x27;", "'")
    assert set(StageMessage.objects.filter(stage__playbook=playbook).values_list("pk", "body")) == before


def test_a_final_notice_promising_a_next_update_is_refused(organization, alice, logged_in):
    playbook = make_outage_playbook(organization)
    response = logged_in(alice).post(
        reverse("playbook_editor_stage", args=[playbook.pk, "resolved"]),
        {
            "cadence_minutes": 30,
            "languages": ["de"],
            "update-de-sms-body": "Behoben. Nächste Meldung {{ next_update_at }}. {{ status_url }}",
        },
    )
    assert response.status_code == 400
    assert "promises none" in response.content.decode()


def test_the_preview_shows_the_preflight_findings_and_good_words_are_saved(organization, alice, logged_in):
    make_contacts(organization)
    playbook = make_outage_playbook(organization)
    client = logged_in(alice)
    preview = client.post(
        reverse("playbook_editor_preview", args=[playbook.pk, "investigating"]),
        {"language": "de", "update-de-sms-body": "Störung bei {{ incident_titel }}."},
    ).content.decode()
    assert "Unknown variable {{ incident_titel }}" in preview and "status link" in preview

    assert _stage_post(client, playbook).status_code == 302
    saved = StageMessage.objects.get(
        stage__playbook=playbook, stage__stage="investigating", language="de", channel="sms"
    )
    assert saved.body == GOOD_SMS
