"""The preflight: words checked where they are written, and every variant read before it is sent."""

import pytest
from django.core.exceptions import ValidationError

from comms.rendering import MessageTemplateError, render_text, template_problems
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import MESSAGE_VARIABLES, PlaybookStage, StageMessage
from playbooks.starter import _create_playbook
from playbooks.updates import preflight
from playbooks.updates.preflight import Finding, PreflightRefused, has_empty_time_slot
from playbooks.updates.services import update_draft, update_edit, update_preflight, update_publish
from tests.conftest import make_client, make_contact

GOOD_EMAIL = "Hello {{ contact_name }}. {{ stage }}. Next update by {{ next_update_at }}. {{ status_url }}"
GOOD_SMS = "{{ organization_name }}: {{ stage }}. Next update by {{ next_update_at }}. {{ status_url }}"


@pytest.fixture
def anna(organization):
    client = make_client(organization, name="Berliner Bank", default_language="en", tags=["payments"])
    return make_contact(client, "Anna Schmidt", phone="+4915112345678")


@pytest.fixture
def live(outage_playbook, alice, anna):
    incident = incident_create(
        playbook=outage_playbook,
        actor=alice,
        title="Payments API errors",
        summary="Card payments fail.",
        affected_tags=["payments"],
    )
    return incident_transition(incident=incident, name="activate", actor=alice)


def texts(email=GOOD_EMAIL, sms=GOOD_SMS, language="en"):
    return {language: {"email_subject": "{{ incident_title }}", "email_body": email, "sms_body": sms}}


def problems(update):
    return {(finding.problem, finding.language, finding.channel) for finding in update_preflight(update=update)}


# ---------------------------------------------------------------------------------------------
# Where words are written


def test_a_stage_message_with_a_mistyped_variable_is_refused_naming_it_and_the_allowed_list(outage_playbook):
    stage = PlaybookStage.objects.get(playbook=outage_playbook, stage="investigating")
    message = StageMessage(stage=stage, language="fr", channel="sms", body="Incident : {{ incident_titel }}")
    with pytest.raises(ValidationError) as error:
        message.full_clean()
    text = " ".join(error.value.message_dict["body"])
    assert "{{ incident_titel }}" in text
    assert all(name in text for name in MESSAGE_VARIABLES)


@pytest.mark.parametrize(
    "body",
    ["{% if stage %}unclosed", '{% include "base.html" %}', "{% load static %}", "{% url 'admin:index' %}"],
)
def test_a_stage_message_with_broken_or_outside_reaching_template_syntax_is_refused(outage_playbook, body):
    stage = PlaybookStage.objects.get(playbook=outage_playbook, stage="investigating")
    message = StageMessage(stage=stage, language="fr", channel="sms", body=body)
    with pytest.raises(ValidationError) as error:
        message.full_clean()
    assert "Template error" in " ".join(error.value.message_dict["body"])


def test_a_playbook_import_with_an_unknown_variable_is_refused(organization):
    spec = {
        "slug": "broken",
        "kind": "outage",
        "name": "Broken",
        "stages": [
            {
                "stage": "investigating",
                "cadence_minutes": 30,
                "messages": {"update": {"en": {"sms": {"body": "Next update {{ next_update }}."}}}},
            }
        ],
    }
    with pytest.raises(ValidationError) as error:
        _create_playbook(organization, spec)
    assert "{{ next_update }}" in str(error.value)


def test_drafting_an_update_with_an_unknown_variable_is_refused(live, alice):
    with pytest.raises(ValidationError) as error:
        update_draft(incident=live, author=alice, texts=texts(sms="{{ incident_titel }} {{ status_url }}"))
    assert "en SMS: Unknown variable {{ incident_titel }}" in " ".join(error.value.messages)


def test_render_text_turns_any_template_error_into_a_clear_one():
    with pytest.raises(MessageTemplateError):
        render_text('{% include "does-not-exist.txt" %}', {})
    assert template_problems("{{ stage|upper }} {% if stage %}{{ stage }}{% endif %}", allowed={"stage"}) == []
    assert template_problems("{% if incident_titel %}x{% endif %}", allowed={"stage"})[0].startswith(
        "Unknown variable {{ incident_titel }}"
    )


# ---------------------------------------------------------------------------------------------
# Every variant read before it is sent


def test_a_good_update_has_no_findings_and_publishes(live, alice):
    update = update_draft(incident=live, author=alice, texts=texts())
    assert update_preflight(update=update) == []
    assert update_publish(update=update, actor=alice).is_published


def test_a_message_without_the_status_link_is_refused_naming_language_and_channel(live, alice):
    update = update_draft(incident=live, author=alice, texts=texts(sms="{{ stage }}. Next {{ next_update_at }}."))
    assert problems(update) == {("missing_link", "en", "sms")}
    with pytest.raises(PreflightRefused) as error:
        update_publish(update=update, actor=alice)
    assert error.value.message_dict["texts"] == [
        "en SMS: carries no status link: add {{ status_url }} (every message must carry it)."
    ]


def test_a_link_to_another_host_is_refused(live, alice, settings):
    update = update_draft(incident=live, author=alice, texts=texts(email=GOOD_EMAIL + " https://evil.example/x"))
    assert ("foreign_link", "en", "email") in problems(update)
    settings.CANDOR_PUBLIC_URL = "https://status.northwind.example"
    # Links built from the public URL follow it; a port other than the public URL's is another host.
    update = update_draft(incident=live, author=alice, texts=texts(email=GOOD_EMAIL + " http://localhost:8000/x"))
    assert ("foreign_link", "en", "email") in problems(update)


def test_a_variable_that_renders_empty_for_a_real_reader_is_refused(live, alice):
    type(live).objects.filter(pk=live.pk).update(summary="")
    live.refresh_from_db()
    update = update_draft(incident=live, author=alice, texts=texts(email=GOOD_EMAIL + " {{ incident_summary }}"))
    findings = update_preflight(update=update)
    assert [str(finding) for finding in findings] == [
        "en email: {{ incident_summary }} renders empty for Anna Schmidt: write the incident summary first."
    ]


def test_an_sms_over_four_segments_is_refused(live, alice):
    update = update_draft(incident=live, author=alice, texts=texts(sms="日本" * 150 + " {{ status_url }}"))
    assert ("sms_too_long", "en", "sms") in problems(update)


def test_publishing_to_nobody_is_refused(outage_playbook, alice, anna):
    incident = incident_create(playbook=outage_playbook, actor=alice, title="Nobody", affected_tags=["none"])
    incident = incident_transition(incident=incident, name="activate", actor=alice)
    update = update_draft(incident=incident, author=alice, texts=texts())
    with pytest.raises(PreflightRefused) as error:
        update_publish(update=update, actor=alice)
    assert "No one will receive this" in error.value.message_dict["audience"][0]
    assert not incident.timeline.filter(kind="update_published").exists()


# ---------------------------------------------------------------------------------------------
# A promise without a time


def test_a_final_notice_mentioning_the_next_update_promises_nothing_and_is_refused(live, alice):
    incident_transition(incident=live, name="identify", actor=alice)
    incident_transition(incident=live, name="resolve", actor=alice, resolution_summary="Rolled back.")
    update = update_draft(incident=live, author=alice, texts=texts())
    assert problems(update) == {("no_time", "en", "email"), ("no_time", "en", "sms")}


def test_a_final_notice_with_a_time_the_commander_set_may_mention_it(live, alice):
    import datetime as dt

    from django.utils import timezone

    incident_transition(incident=live, name="identify", actor=alice)
    incident_transition(incident=live, name="resolve", actor=alice, resolution_summary="Rolled back.")
    update = update_draft(incident=live, author=alice, texts=texts())
    update = update_edit(update=update, actor=alice, next_update_due_at=timezone.now() + dt.timedelta(days=1))
    assert update_preflight(update=update) == []


@pytest.mark.parametrize(
    ("language", "text", "empty"),
    [
        ("en", "Next update: we will send a final follow-up by .", True),
        ("en", "Final follow-up by \nhttp://x", True),
        ("en", "Next update by 10:30 CET, 24 Nov.", False),
        ("en", "This is our final notice: we will not send further updates.", False),
        ("de", "Eine abschließende Mitteilung folgt spätestens .", True),
        ("de", "Nächste Meldung spätestens 24.11., 11:00 Uhr CET.", False),
        ("es", "Próxima actualización: a más tardar a las .", True),
        ("pt-br", "Retorno final até .", True),
        ("pt-br", "Próxima atualização até 24/11 às 10:30 (BRT).", False),
        ("ja", "次回のご報告: までに、最終のご報告をお送りいたします。", True),
        ("ja", "次回のご報告: 11月24日 19:00 (JST)までにお知らせいたします。", False),
    ],
)
def test_an_empty_time_slot_is_a_promise_without_a_time(language, text, empty):
    assert has_empty_time_slot(text, language) is empty


def test_a_hand_typed_empty_promise_is_refused(live, alice):
    update = update_draft(incident=live, author=alice, texts=texts(email="We will write again by . {{ status_url }}"))
    assert problems(update) == {("no_time", "en", "email")}


# ---------------------------------------------------------------------------------------------
# Other checks add their findings


def test_other_checks_add_warnings_that_show_but_do_not_block(live, alice, monkeypatch):
    def language_note(*, update, incident, audience, batch, due_at):
        yield Finding("language_fallback", "Fatima reads English: no French words.", is_blocking=False)

    monkeypatch.setattr(preflight, "UPDATE_FINDERS", [language_note])
    update = update_draft(incident=live, author=alice, texts=texts())
    assert [str(finding) for finding in update_preflight(update=update)] == ["Fatima reads English: no French words."]
    assert update_publish(update=update, actor=alice).is_published
