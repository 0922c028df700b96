"""The client survey: who is invited and how, the reminder and the closing with time travelled,
the signed single-use link, partial answers, and the satisfaction score by SMS reply."""

import re

import pytest
import time_machine

from comms.models import Message
from comms.rendering import MAX_SMS_SEGMENTS, sms_size
from comms.services import inbound_sms_receive
from playbooks.incidents.links import survey_token, survey_url
from playbooks.models import (
    ClientSurvey,
    QuestionKind,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    TimelineEntry,
)
from playbooks.surveys.services import MESSAGE_WORDS, _sms_body

from .conftest import DAY, MINUTE, T0, walk


def survey_path(incident, contact):
    return f"/survey/{survey_token(incident.pk, contact.pk)}/"


def survey_messages(incident, source_prefix="survey"):
    return Message.objects.filter(topic=f"incident:{incident.pk}", source=f"{source_prefix}:{incident.pk}")


def test_entering_debriefing_invites_exactly_the_contacts_an_update_reached(
    resolved_incident, contacts, alice, run_worker, fake_providers
):
    anna, kenji, john = contacts["anna"], contacts["kenji"], contacts["john"]
    # John's update email bounced: he was not reached, so he is not asked.
    from .conftest import message_to, record

    for update in resolved_incident.updates.all():  # the first update and the final notice
        record(message_to(john, "email", f"update:{update.pk}"), "bounced", T0 + 5 * MINUTE)
    fake_providers.reset()

    with time_machine.travel(T0 + 60 * MINUTE, tick=False):
        incident = walk(resolved_incident, alice, "start_debrief")
        run_worker()

    invitations = {invitation.contact_id: invitation for invitation in SurveyInvitation.objects.all()}
    assert set(invitations) == {anna.pk, kenji.pk}  # Olaf was never reached, John bounced
    assert invitations[anna.pk].channels == ["email", "sms"] and invitations[anna.pk].language == "de"
    assert invitations[kenji.pk].channels == ["sms"] and invitations[kenji.pk].language == "ja"
    sent = {(m.contact_id, m.channel) for m in survey_messages(incident)}
    assert sent == {(anna.pk, "email"), (anna.pk, "sms"), (kenji.pk, "sms")}

    sms = {request["To"]: request["Body"] for request in fake_providers.twilio_messages()}
    assert sms[anna.phone].startswith(
        'Northwind: Wie gut haben wir "Payments API errors" bewältigt? Antworten Sie mit 1'
    )
    assert survey_url(incident.pk, anna.pk) in sms[anna.phone]
    assert sms[kenji.phone].startswith(
        "Northwind：「Payments API errors」への対応はいかがでしたか。1（不満）～5（満足）"
    )
    mail = fake_providers.sendgrid_mails()[0]
    personalization = mail["personalizations"][0]
    assert personalization["to"][0]["email"] == anna.email
    assert mail["subject"] == "Wie zufrieden waren Sie mit uns? Payments API errors"
    assert personalization["substitutions"]["-survey_url-"] == survey_url(incident.pk, anna.pk)
    assert "-survey_url-" in mail["content"][0]["value"]
    survey = ClientSurvey.objects.get(incident=incident)
    assert survey.invited_at == T0 + 60 * MINUTE
    assert survey.closes_at == T0 + 60 * MINUTE + 14 * DAY
    assert (
        TimelineEntry.objects.filter(incident=incident, data__event="survey_invited")
        .get()
        .note.startswith("Client survey sent to 2 contact(s) (1 by email, 2 by SMS)")
    )


def test_the_survey_waits_for_the_configured_delay_after_resolution(resolved_incident, alice, run_worker, settings):
    settings.CANDOR_SURVEY_DELAY_HOURS = 24
    resolved_at = resolved_incident.resolved_at
    with time_machine.travel(T0 + 60 * MINUTE, tick=False):
        incident = walk(resolved_incident, alice, "start_debrief")
        run_worker()
    assert not SurveyInvitation.objects.exists()
    assert ClientSurvey.objects.get(incident=incident).send_at == resolved_at + DAY
    with time_machine.travel(resolved_at + DAY - MINUTE, tick=False):
        run_worker()
    assert not SurveyInvitation.objects.exists()
    with time_machine.travel(resolved_at + DAY, tick=False):
        run_worker()
    assert SurveyInvitation.objects.count() == 3  # Anna, Kenji, John


def test_one_reminder_goes_after_the_configured_days_to_those_who_have_not_answered(
    surveyed_incident, contacts, client, run_worker, settings
):
    from playbooks.surveys.services import surveys_sweep

    anna, kenji, john = contacts["anna"], contacts["kenji"], contacts["john"]
    invited_at = T0 + 60 * MINUTE
    with time_machine.travel(invited_at + DAY, tick=False):
        client.post(survey_path(surveyed_incident, anna), {"csat": "5"})
    with time_machine.travel(invited_at + 3 * DAY - MINUTE, tick=False):
        run_worker()
    assert not survey_messages(surveyed_incident, "survey-reminder").exists()
    with time_machine.travel(invited_at + 3 * DAY, tick=False):
        run_worker()
    reminded = {(m.contact_id, m.channel) for m in survey_messages(surveyed_incident, "survey-reminder")}
    assert reminded == {(kenji.pk, "sms"), (john.pk, "email")}
    reminder = survey_messages(surveyed_incident, "survey-reminder").get(contact=john)
    assert reminder.content.subject == "Reminder: how did we do? Payments API errors"
    assert "The survey is open until 05:00 EST, 8 Dec." in reminder.content.body  # John's timezone
    with time_machine.travel(invited_at + 5 * DAY, tick=False):
        surveys_sweep(now=invited_at + 5 * DAY)
        run_worker()
    assert survey_messages(surveyed_incident, "survey-reminder").count() == 2  # once only
    assert ClientSurvey.objects.get().reminded_at == invited_at + 3 * DAY


def test_the_link_opens_the_survey_in_the_contacts_language_and_answers_once(surveyed_incident, contacts, client):
    anna = contacts["anna"]
    path = survey_path(surveyed_incident, anna)
    with time_machine.travel(T0 + 2 * DAY, tick=False):
        page = client.get(path)
        assert page.status_code == 200
        assert '<html lang="de">' in page.content.decode()
        assert "Wie zufrieden sind Sie insgesamt damit" in page.content.decode()
        assert page["Cache-Control"] == "private, no-store"
        answered = client.post(
            path, {"csat": "4", "kept_informed": "5", "clarity": "3", "nps": "8", "comment": "Gut gemacht."}
        )
        assert answered.status_code == 303 and answered["Location"].endswith("?sent=1")
        assert "Vielen Dank" in client.get(answered["Location"]).content.decode()

        again = client.post(path, {"csat": "1"})
        assert again.status_code == 409
        assert "Sie haben bereits geantwortet" in again.content.decode()
        assert "Jeder Link kann einmal verwendet werden" in again.content.decode()
        reopened = client.get(path)
        assert reopened.status_code == 200 and "Sie haben bereits geantwortet" in reopened.content.decode()
    response = SurveyResponse.objects.get()
    assert (response.csat, response.kept_informed, response.clarity, response.nps, response.comment) == (
        4,
        5,
        3,
        8,
        "Gut gemacht.",
    )


def test_partial_answers_are_kept_and_an_empty_form_is_refused_politely(surveyed_incident, contacts, client):
    path = survey_path(surveyed_incident, contacts["john"])
    with time_machine.travel(T0 + 2 * DAY, tick=False):
        empty = client.post(path, {"comment": "   "})
        assert empty.status_code == 400 and "Please answer at least one question." in empty.content.decode()
        bad = client.post(path, {"nps": "11"})
        assert bad.status_code == 400 and "could not be read" in bad.content.decode()
        assert not SurveyResponse.objects.exists()
        assert client.post(path, {"nps": "10", "comment": "Fast and honest."}).status_code == 303
    response = SurveyResponse.objects.get()
    assert (response.csat, response.kept_informed, response.clarity, response.nps) == (None, None, None, 10)
    assert response.comment == "Fast and honest."


def test_the_survey_closes_after_the_configured_days_with_a_clear_page(surveyed_incident, contacts, client, run_worker):
    path = survey_path(surveyed_incident, contacts["john"])
    closes_at = T0 + 60 * MINUTE + 14 * DAY
    with time_machine.travel(closes_at - MINUTE, tick=False):
        assert client.get(path).status_code == 200
    with time_machine.travel(closes_at, tick=False):
        run_worker()
        page = client.get(path)
        assert page.status_code == 410
        assert "This survey is closed" in page.content.decode()
        assert "closed at 05:00 EST, 8 Dec" in page.content.decode()
        assert client.post(path, {"csat": "5"}).status_code == 410
    assert not SurveyResponse.objects.exists()
    survey = ClientSurvey.objects.get()
    assert survey.closed_at == closes_at
    assert (
        TimelineEntry.objects.get(data__event="survey_closed").note
        == "Client survey closed: 0 of 3 contact(s) answered."
    )


def test_a_forged_or_foreign_link_finds_nothing(surveyed_incident, contacts, client):
    token = survey_token(surveyed_incident.pk, contacts["anna"].pk)
    assert client.get(f"/survey/{token[:-2]}xx/").status_code == 404
    assert client.get(f"/survey/{survey_token(surveyed_incident.pk, contacts['olaf'].pk)}/").status_code == 404


def test_the_playbooks_extra_questions_are_asked_and_kept(
    resolved_incident, playbook, contacts, alice, client, run_worker
):
    scale = SurveyQuestion.objects.create(
        playbook=playbook, texts={"en": "Was the status page useful?", "de": "War die Statusseite nützlich?"}
    )
    text = SurveyQuestion.objects.create(
        playbook=playbook, kind=QuestionKind.TEXT, position=1, texts={"en": "What should we change?"}
    )
    with time_machine.travel(T0 + 60 * MINUTE, tick=False):
        walk(resolved_incident, alice, "start_debrief")
        run_worker()
    path = survey_path(resolved_incident, contacts["anna"])
    with time_machine.travel(T0 + DAY, tick=False):
        page = client.get(path).content.decode()
        assert "War die Statusseite nützlich?" in page
        assert f'<label for="id_q{text.pk}" lang="en">What should we change?</label>' in page
        client.post(path, {f"q{scale.pk}": "2", f"q{text.pk}": "Call us sooner."})
    assert SurveyResponse.objects.get().extra_answers == {str(scale.pk): 2, str(text.pk): "Call us sooner."}


def test_an_sms_reply_of_4_records_the_satisfaction_score(surveyed_incident, contacts, client):
    anna = contacts["anna"]
    with time_machine.travel(T0 + DAY, tick=False):
        outcome = inbound_sms_receive(
            provider_message_id="SM1", from_number=anna.phone, to_number="+15005550006", body=" 4 "
        )
    assert outcome.reply_text == ""
    response = SurveyResponse.objects.get()
    assert (response.invitation.contact, response.csat, response.csat_via) == (anna, 4, "sms")
    entry = TimelineEntry.objects.get(data__event="survey_answered")
    assert entry.note == "Anna Schmidt (Berliner Bank) answered the survey by SMS: satisfaction 4/5."
    assert not TimelineEntry.objects.filter(kind="client_reply", note__contains="replied").exists()
    # The link still takes the rest of the answers, once, with the SMS score filled in.
    with time_machine.travel(T0 + DAY + MINUTE, tick=False):
        page = client.get(survey_path(surveyed_incident, anna)).content.decode()
        assert "Sie haben uns per SMS bereits eine 4 gegeben" in page
        assert re.search(r'name="csat" value="4" checked', page)
        client.post(survey_path(surveyed_incident, anna), {"csat": "4", "nps": "9"})
        # A second digit is an ordinary reply now.
        inbound_sms_receive(provider_message_id="SM2", from_number=anna.phone, to_number="+15005550006", body="1")
    response.refresh_from_db()
    assert (response.csat, response.nps, response.csat_via) == (4, 9, "page")
    assert TimelineEntry.objects.filter(kind="client_reply", note__endswith="replied: 1").exists()


def test_a_digit_from_someone_without_an_open_invitation_is_an_ordinary_reply(resolved_incident, contacts):
    with time_machine.travel(T0 + 50 * MINUTE, tick=False):
        inbound_sms_receive(
            provider_message_id="SM1", from_number=contacts["anna"].phone, to_number="+15005550006", body="5"
        )
    assert not SurveyResponse.objects.exists()
    assert TimelineEntry.objects.filter(kind="client_reply", note__endswith="replied: 5").exists()


@pytest.mark.parametrize("language", sorted(MESSAGE_WORDS))
@pytest.mark.parametrize("kind", ["sms", "reminder_sms"])
def test_survey_sms_fit_four_segments_in_every_language_even_with_a_long_title(language, kind, settings):
    settings.CANDOR_PUBLIC_URL = "https://status.northwind-logistics.example.com"
    body = _sms_body(
        MESSAGE_WORDS[language][kind],
        organization="Northwind Logistics International GmbH & Co. KG",
        title="Intermittent failures of the payments API for card-present transactions " * 3,
    )
    filled = body.replace("-survey_url-", survey_url(123456, 7654321))
    assert sms_size(filled).segments <= MAX_SMS_SEGMENTS
    assert survey_url(123456, 7654321) in filled
    assert "5" in filled


def test_an_extra_question_needs_its_words_in_known_languages(playbook):
    from django.core.exceptions import ValidationError

    question = SurveyQuestion(
        playbook=playbook, texts={"en": "  Was the hotline easy to reach?  ", "xx": "?", "de": ""}
    )
    with pytest.raises(ValidationError) as error:
        question.full_clean()
    assert error.value.message_dict["texts"] == ["Unknown language 'xx'.", "de: the question is empty."]
    question.texts = {"en": "  Was the hotline easy to reach?  "}
    question.full_clean()
    assert question.texts == {"en": "Was the hotline easy to reach?"}


def test_the_admin_shows_and_offers_only_the_organisations_playbooks(playbook, other_organization, dave, rf):
    from django.contrib import admin

    from playbooks.surveys.admin import SurveyQuestionAdmin
    from tests.debriefs.conftest import make_playbook

    theirs = make_playbook(other_organization)
    SurveyQuestion.objects.create(playbook=playbook, texts={"en": "Ours?"})
    SurveyQuestion.objects.create(playbook=theirs, texts={"en": "Theirs?"})
    request = rf.get("/admin/")
    request.user = dave
    model_admin = SurveyQuestionAdmin(SurveyQuestion, admin.site)
    assert [str(q) for q in model_admin.get_queryset(request)] == ["Ours?"]
    field = model_admin.formfield_for_foreignkey(SurveyQuestion._meta.get_field("playbook"), request)
    assert list(field.queryset) == [playbook]
