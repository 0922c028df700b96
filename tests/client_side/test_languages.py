"""Languages complete or announced: every language offered for contacts has status-page, survey,
preference and stage words; a page never mixes two languages; where an update has no words in a
reader's language, the preview says who falls back to which (a warning, not a block)."""

import datetime as dt
import re

import pytest
import time_machine

from accounts.models import LANGUAGE_CODES
from comms.preferences_views import WORDS as PREFERENCE_WORDS
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import Playbook, PlaybookStage, StageMessage
from playbooks.status_pages.selectors import PAGE_WORDS
from playbooks.surveys.services import MESSAGE_WORDS as SURVEY_MESSAGE_WORDS
from playbooks.surveys.words import SURVEY_PAGE_WORDS
from playbooks.updates.services import publish_blockers, update_draft, update_preview
from playbooks.updates.wording import STAGE_WORDS
from tests.client_side.conftest import T0, publish, status_path
from tests.conftest import make_client, make_contact

# Words a page in one of these languages must not show: the English and French stage of a recall.
ENGLISH_ANNOUNCED, FRENCH_ANNOUNCED = "Recall announced", "Rappel annoncé"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("stage", STAGE_WORDS),
        ("status page", PAGE_WORDS),
        ("survey page", SURVEY_PAGE_WORDS),
        ("survey messages", SURVEY_MESSAGE_WORDS),
        ("preferences", PREFERENCE_WORDS),
    ],
)
def test_every_language_offered_for_contacts_has_its_words(name, words):
    assert set(words) >= LANGUAGE_CODES, f"{name} words missing for {sorted(LANGUAGE_CODES - set(words))}"
    for language in LANGUAGE_CODES:
        assert set(words[language]) == set(words["en"]), (name, language)


def make_multilingual_recall(organization):
    """A recall whose announcement is written in English, French, Italian and Dutch."""
    playbook = Playbook.objects.create(organization=organization, kind="recall", name="Recall", slug="recall-eu")
    for stage_name in ["assessing", "announced", "remedy_available", "remedy_in_progress", "completed"]:
        stage = PlaybookStage.objects.create(playbook=playbook, stage=stage_name, cadence_minutes=60)
        for language in ("en", "fr", "it", "nl"):
            StageMessage.objects.create(
                stage=stage,
                language=language,
                channel="email",
                subject="{{ incident_title }}: {{ stage }}",
                body=f"[{language}] {{{{ stage }}}}. {{{{ status_url }}}}",
            )
    return playbook


@pytest.fixture
def recall(organization, alice):
    with time_machine.travel(T0, tick=False):
        make_contact(make_client(organization, name="London Ltd", tags=["lot"], default_language="en"), "Lara")
        incident = incident_create(
            playbook=make_multilingual_recall(organization), actor=alice, title="Lot 4711", affected_tags=["lot"]
        )
        incident = incident_transition(incident=incident, name="activate", actor=alice)
        incident = incident_transition(incident=incident, name="announce", actor=alice)
        publish(incident, alice)
    return incident


@pytest.mark.parametrize(
    ("language", "stage_heading", "announced"),
    [
        ("fr", "Situation actuelle", "Rappel annoncé"),
        ("it", "Situazione attuale", "Richiamo annunciato"),
        ("nl", "Huidige status", "Terugroepactie aangekondigd"),
    ],
)
@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_french_italian_and_dutch_pages_speak_one_language(
    client, organization, recall, language, stage_heading, announced
):
    reader = make_contact(
        make_client(organization, name=f"Client {language}", tags=["lot"], default_language=language), "Reader"
    )

    page = client.get(status_path(recall, reader)).content.decode()

    assert f'<html lang="{language}">' in page
    assert stage_heading in page
    assert page.count(announced) >= 2  # the stage on the page and in the update's own words
    assert f"[{language}] {announced}." in page
    assert ENGLISH_ANNOUNCED not in page
    if language != "fr":
        assert FRENCH_ANNOUNCED not in page
    assert not re.search(r'lang="(?!' + language + r')[a-z-]+"', page.split("<body", 1)[1])


def test_the_preview_says_who_falls_back_to_which_language_without_blocking(organization, alice):
    playbook = make_multilingual_recall(organization)
    german = make_client(organization, name="Berliner Bank", tags=["lot"], default_language="de")
    make_contact(german, "Anna Schmidt")
    make_contact(make_client(organization, name="Paris SA", tags=["lot"], default_language="fr"), "Pierre Dubois")
    incident = incident_create(playbook=playbook, actor=alice, title="Lot 4711", affected_tags=["lot"])
    incident = incident_transition(incident=incident, name="activate", actor=alice)
    update = update_draft(incident=incident, author=alice)

    [fallback] = update_preview(update=update)["language_fallbacks"]

    assert (fallback["language"], fallback["falls_back_to"]) == ("de", "en")
    assert fallback["contacts"] == ["Anna Schmidt (Berliner Bank)"]
    assert fallback["message"] == (
        "1 contact reading German will get English: no words prepared in their language (Anna Schmidt (Berliner Bank))."
    )
    assert publish_blockers(update=update, incident=incident) == []


def test_the_console_update_page_shows_the_fallback(client, organization, alice):
    playbook = make_multilingual_recall(organization)
    make_contact(make_client(organization, name="Berliner Bank", tags=["lot"], default_language="de"), "Anna Schmidt")
    incident = incident_create(playbook=playbook, actor=alice, title="Lot 4711", affected_tags=["lot"])
    incident = incident_transition(incident=incident, name="activate", actor=alice)
    update = update_draft(incident=incident, author=alice)
    client.force_login(alice)

    page = client.get(f"/updates/{update.pk}/").content.decode()

    assert "1 contact reading German will get English" in page
