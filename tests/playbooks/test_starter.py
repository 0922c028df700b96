"""The demo organisation and the three starter playbooks: complete, loadable twice, fit to send."""

import io

import pytest
from django.core.management import call_command

from accounts.models import ClientAccount, Contact, Organization, User
from comms.rendering import MAX_SMS_SEGMENTS, apply_substitutions, render_text, sms_size
from playbooks.models import KIND_STATES, LIVE_STATES, RESOLVED_STATES, ChecklistItem, Playbook, StageMessage
from playbooks.updates.pipeline import typical_reader_values

LANGUAGES = {"en", "de", "ja", "pt-br", "es"}


def load_demo():
    out = io.StringIO()
    call_command("load_demo", "--without-history", stdout=out)
    return out.getvalue()


def counts():
    return (
        Organization.objects.count(),
        User.objects.count(),
        ClientAccount.objects.count(),
        Contact.objects.count(),
        Playbook.objects.count(),
        StageMessage.objects.count(),
        ChecklistItem.objects.count(),
    )


@pytest.mark.django_db
def test_loading_the_demo_twice_changes_nothing():
    output = load_demo()
    first = counts()
    versions = dict(Playbook.objects.values_list("slug", "version"))
    assert "cora" in output and "candor-demo" in output
    load_demo()
    assert counts() == first
    assert (
        dict(Playbook.objects.values_list("slug", "version"))
        == versions
        == {
            "outage-standard": 1,
            "recall-eu-product": 1,
            "compliance-data-incident": 1,
        }
    )
    organization = Organization.objects.get()
    assert organization.clients.count() >= 20
    assert Contact.objects.count() >= 60
    assert len(set(organization.clients.values_list("country", flat=True))) >= 5


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["outage-standard", "recall-eu-product", "compliance-data-incident"])
def test_every_starter_stage_speaks_five_languages_on_both_channels_within_four_sms_segments(slug):
    load_demo()
    playbook = Playbook.objects.get(slug=slug)
    plan = playbook.snapshot()
    publishable = [
        s for s in KIND_STATES[playbook.kind] if s in LIVE_STATES | (RESOLVED_STATES - {"debriefing", "closed"})
    ]
    assert set(plan["stages"]) == set(publishable)
    context = {
        "organization_name": "N" * 20,
        "incident_title": "T" * 60,
        "incident_summary": "S" * 200,
        "stage": "We are investigating",
        "next_update_at": "24/11 às 14:30 (UTC-03)",
        "contact_name": "-contact_name-",
        "client_name": "-client_name-",
        "status_url": "-status_url-",
        "preferences_url": "-preferences_url-",
    }
    for stage, settings in plan["stages"].items():
        purposes = ["update"] if stage in RESOLVED_STATES else ["update", "holding"]
        for purpose in purposes:
            by_language = settings["messages"][purpose]
            assert set(by_language) >= LANGUAGES, (stage, purpose)
            for language, channels in by_language.items():
                assert channels["email"]["subject"] and channels["email"]["body"]
                sms = apply_substitutions(render_text(channels["sms"]["body"], context), typical_reader_values())
                assert sms_size(sms).segments <= MAX_SMS_SEGMENTS, (stage, purpose, language, len(sms))
    for item in plan["checklist"]:
        assert item["guidance"].endswith("Guidance, not legal advice."), item["title"]


@pytest.mark.django_db
def test_the_eu_recall_playbook_carries_the_gpsr_wording_rules():
    load_demo()
    rules = Playbook.objects.get(slug="recall-eu-product").content_rules
    assert "Product safety recall" in rules["required_phrases"]
    assert {"voluntary", "precautionary"} <= set(rules["banned_words"])


@pytest.mark.django_db
def test_the_recall_asks_affected_clients_to_confirm_they_stopped_using_the_product_in_five_languages():
    load_demo()
    plan = Playbook.objects.get(slug="recall-eu-product").snapshot()

    acknowledgement = plan["stages"]["announced"]["acknowledgement"]

    assert set(acknowledgement["texts"]) == {"en", "de", "ja", "es", "pt-br"}
    assert "stopped selling and using the affected lot" in acknowledgement["texts"]["en"]["request"]
    assert acknowledgement["texts"]["de"]["keyword"] == "BESTAETIGT"
    assert all(plan["stages"][stage]["acknowledgement"] is None for stage in plan["stages"] if stage != "announced")
