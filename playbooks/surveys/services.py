"""The client survey after the crisis: invitations, one reminder, closing, answers by page or by SMS.

How it runs:
- When an incident enters debriefing (playbooks.handlers), `survey_schedule` schedules the survey
  CANDOR_SURVEY_DELAY_HOURS after resolution, never earlier than now.
- A durable timer (playbooks.surveys.tasks.survey_timer, queue "timers") calls `survey_advance`,
  which does whatever is due now: invite, remind once, close. Each step is recorded on the survey
  row, so a timer that runs twice (or the sweep, `surveys_sweep`) acts once.
- Invitations go to every contact an update reached (sent or delivered), on each channel they
  accept now, through the one message pipeline (playbooks.updates.pipeline; source
  "survey:<incident>"): delivery reports, retries and opt-outs work the same as for updates.
- The link is signed per (incident, contact), needs no login and is answered once; an SMS reply
  "1".."5" to the invitation records the satisfaction score (playbooks.handlers).
A low score opens a follow-up (playbooks.debriefs).
"""

import datetime as dt
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from candor.helpers import enqueue_task
from comms.rendering import MAX_SMS_SEGMENTS, choose_language, format_local_time, sms_friendly, sms_size
from comms.selectors import contacts_reached
from playbooks.debriefs.services import follow_up_open_if_low
from playbooks.incidents.links import ids_from_survey_token, survey_url
from playbooks.incidents.services import timeline_record
from playbooks.incidents.topics import incident_topic
from playbooks.integrations import events as webhook_events
from playbooks.integrations.services import incident_webhook_emit
from playbooks.models import (
    ClientSurvey,
    ResponseVia,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    TimelineKind,
)
from playbooks.updates.audience import audience_contacts, audience_of
from playbooks.updates.pipeline import READER_TOKENS, Words, batch_build, batch_queue


def _local(incident, moment):
    return format_local_time(moment, language="en", timezone_name=incident.organization.timezone)


SURVEY_URL_TOKEN = READER_TOKENS["survey_url"]


# ---------------------------------------------------------------------------------------------
# Words of the invitation and the reminder, per language (the survey page's are in SURVEY_PAGE_WORDS)

MESSAGE_WORDS = {
    "en": {
        "subject": "How did we do? {title}",
        "body": 'Dear -contact_name-,\n\nWe kept you informed about "{title}". It is over now, and we would like '
        "to know how well we handled it for you.\n\nA few short questions, about two minutes:\n"
        "-survey_url-\n\nEvery question is optional. Your answers go to the team that handled the "
        "incident and help us do better next time.\n\nThank you,\n{organization}\n\n"
        "Your contact preferences: -preferences_url-",
        "reminder_subject": "Reminder: how did we do? {title}",
        "reminder_body": 'Dear -contact_name-,\n\nA few days ago we asked how well we handled "{title}" for you. '
        "If you have two minutes, your answers help us:\n-survey_url-\n\nThe survey is open "
        "until {closes}.\n\nThank you,\n{organization}\n\nYour contact preferences: -preferences_url-",
        "sms": '{organization}: how did we handle "{title}"? Reply 1 (poor) to 5 (very good), or answer here: '
        "-survey_url- Reply STOP to opt out.",
        "reminder_sms": '{organization}: reminder - how did we handle "{title}"? Reply 1 (poor) to 5 (very good), '
        "or answer here: -survey_url-",
    },
    "de": {
        "subject": "Wie zufrieden waren Sie mit uns? {title}",
        "body": "Guten Tag -contact_name-,\n\nwir haben Sie über „{title}“ auf dem Laufenden gehalten. Der Vorfall "
        "ist abgeschlossen, und wir möchten wissen, wie gut wir ihn für Sie bewältigt haben.\n\n"
        "Einige kurze Fragen, etwa zwei Minuten:\n-survey_url-\n\nAlle Fragen sind freiwillig. Ihre "
        "Antworten gehen an das Team, das den Vorfall bearbeitet hat, und helfen uns, es beim nächsten "
        "Mal besser zu machen.\n\nVielen Dank\n{organization}\n\nIhre Kontakteinstellungen: -preferences_url-",
        "reminder_subject": "Erinnerung: Wie zufrieden waren Sie mit uns? {title}",
        "reminder_body": "Guten Tag -contact_name-,\n\nvor einigen Tagen haben wir Sie gefragt, wie gut wir „{title}“ "
        "für Sie bewältigt haben. Wenn Sie zwei Minuten Zeit haben, helfen uns Ihre Antworten:\n"
        "-survey_url-\n\nDie Umfrage ist bis {closes} offen.\n\nVielen Dank\n{organization}\n\n"
        "Ihre Kontakteinstellungen: -preferences_url-",
        "sms": '{organization}: Wie gut haben wir "{title}" bewältigt? Antworten Sie mit 1 (schlecht) bis '
        "5 (sehr gut) oder hier: -survey_url- STOP zum Abmelden.",
        "reminder_sms": '{organization}: Erinnerung - wie gut haben wir "{title}" bewältigt? Antworten Sie mit '
        "1 (schlecht) bis 5 (sehr gut) oder hier: -survey_url-",
    },
    "fr": {
        "subject": "Votre avis : {title}",
        "body": "Bonjour -contact_name-,\n\nNous vous avons tenu informé au sujet de « {title} ». L'incident est "
        "terminé, et nous aimerions savoir comment vous jugez la façon dont nous l'avons géré.\n\n"
        "Quelques questions courtes, environ deux minutes :\n-survey_url-\n\nToutes les questions sont "
        "facultatives. Vos réponses vont à l'équipe qui a géré l'incident et nous aident à faire mieux la "
        "prochaine fois.\n\nMerci,\n{organization}\n\nVos préférences de contact : -preferences_url-",
        "reminder_subject": "Rappel : votre avis sur {title}",
        "reminder_body": "Bonjour -contact_name-,\n\nIl y a quelques jours, nous vous avons demandé comment nous avons "
        "géré « {title} ». Si vous avez deux minutes, vos réponses nous aident :\n-survey_url-\n\n"
        "Le questionnaire est ouvert jusqu'au {closes}.\n\nMerci,\n{organization}\n\n"
        "Vos préférences de contact : -preferences_url-",
        "sms": '{organization} : comment avons-nous géré "{title}" ? Répondez de 1 (mauvais) à 5 (très bien), '
        "ou ici : -survey_url- STOP pour ne plus recevoir de SMS.",
        "reminder_sms": '{organization} : rappel - comment avons-nous géré "{title}" ? Répondez de 1 (mauvais) '
        "à 5 (très bien), ou ici : -survey_url-",
    },
    "es": {
        "subject": "¿Qué tal lo hicimos? {title}",
        "body": 'Hola, -contact_name-:\n\nLe mantuvimos informado sobre "{title}". El incidente ya terminó y '
        "queremos saber cómo valora la forma en que lo gestionamos.\n\nUnas preguntas breves, unos dos "
        "minutos:\n-survey_url-\n\nTodas las preguntas son opcionales. Sus respuestas llegan al equipo que "
        "gestionó el incidente y nos ayudan a hacerlo mejor la próxima vez.\n\nGracias,\n{organization}\n\n"
        "Sus preferencias de contacto: -preferences_url-",
        "reminder_subject": "Recordatorio: ¿qué tal lo hicimos? {title}",
        "reminder_body": 'Hola, -contact_name-:\n\nHace unos días le preguntamos cómo gestionamos "{title}". Si tiene '
        "dos minutos, sus respuestas nos ayudan:\n-survey_url-\n\nLa encuesta está abierta hasta el "
        "{closes}.\n\nGracias,\n{organization}\n\nSus preferencias de contacto: -preferences_url-",
        "sms": '{organization}: ¿como gestionamos "{title}"? Responda del 1 (mal) al 5 (muy bien), o aqui: '
        "-survey_url- STOP para darse de baja.",
        "reminder_sms": '{organization}: recordatorio - ¿como gestionamos "{title}"? Responda del 1 (mal) al '
        "5 (muy bien), o aqui: -survey_url-",
    },
    "pt-br": {
        "subject": "Como nos saímos? {title}",
        "body": 'Olá, -contact_name-,\n\nMantivemos você informado sobre "{title}". A situação já foi resolvida, '
        "e gostaríamos muito de saber como foi, para você, a forma como cuidamos disso.\n\nSão poucas "
        "perguntas rápidas, uns dois minutos:\n-survey_url-\n\nTodas as perguntas são opcionais. Suas "
        "respostas vão para a equipe que cuidou do incidente e nos ajudam a fazer melhor da próxima vez."
        "\n\nMuito obrigado!\n{organization}\n\nSuas preferências de contato: -preferences_url-",
        "reminder_subject": "Lembrete: como nos saímos? {title}",
        "reminder_body": "Olá, -contact_name-,\n\nHá alguns dias perguntamos como foi a forma como cuidamos de "
        '"{title}". Se tiver dois minutinhos, suas respostas ajudam muito:\n-survey_url-\n\n'
        "A pesquisa fica aberta até {closes}.\n\nMuito obrigado!\n{organization}\n\n"
        "Suas preferências de contato: -preferences_url-",
        "sms": '{organization}: como cuidamos de "{title}"? Responda de 1 (ruim) a 5 (otimo), ou aqui: '
        "-survey_url- STOP para sair.",
        "reminder_sms": '{organization}: lembrete - como cuidamos de "{title}"? Responda de 1 (ruim) a 5 (otimo), '
        "ou aqui: -survey_url-",
    },
    "ja": {
        "subject": "ご対応についてのアンケート：{title}",
        "body": "-contact_name- 様\n\n「{title}」への当社の対応について、アンケートへのご協力をお願いいたします"
        "（数問、約2分）。\n-survey_url-\n\n本件は収束いたしました。すべての質問は任意です。ご回答は対応"
        "チームに共有し、今後の改善に役立てます。\n\n{organization}\n\n連絡設定：-preferences_url-",
        "reminder_subject": "【再送】ご対応についてのアンケート：{title}",
        "reminder_body": "-contact_name- 様\n\n先日お送りした「{title}」への対応に関するアンケートです。2分ほどで"
        "ご回答いただけます。\n-survey_url-\n\n回答期限：{closes}\n\n{organization}\n\n"
        "連絡設定：-preferences_url-",
        "sms": "{organization}：「{title}」への対応はいかがでしたか。1（不満）～5（満足）の数字でご返信いただくか、"
        "こちらからご回答ください：-survey_url- 配信停止はSTOP",
        "reminder_sms": "{organization}：【再送】「{title}」への対応について、1（不満）～5（満足）でご返信いただくか、"
        "こちらからご回答ください：-survey_url-",
    },
}
SMS_TITLE_CHARS = 60
SMS_ORGANIZATION_CHARS = 40


def _shorten(text, limit):
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _survey_language(contact, incident):
    return choose_language(
        [contact.language, contact.client.default_language, incident.plan.get("default_language")], MESSAGE_WORDS
    )


def _sms_body(template, *, organization, title):
    """An SMS within MAX_SMS_SEGMENTS with a real link: shorten the title, then drop it."""
    example_url = survey_url(10**9, 10**9)
    for title_text in (_shorten(title, SMS_TITLE_CHARS), _shorten(title, 30), "..."):
        body = sms_friendly(
            template.format(organization=_shorten(organization, SMS_ORGANIZATION_CHARS), title=title_text)
        )
        if sms_size(body.replace(SURVEY_URL_TOKEN, example_url)).segments <= MAX_SMS_SEGMENTS:
            return body
    return body


def _batch_for(incident, survey, contacts, *, reminder):
    """The pipeline's batch of an invitation (or the reminder) to these contacts."""
    organization = incident.organization.name
    prefix = "reminder_" if reminder else ""

    def words_for(language, timezone_name, group):
        words = MESSAGE_WORDS[language]
        closes = format_local_time(survey.closes_at, language=language, timezone_name=timezone_name) if reminder else ""
        return Words(
            email_subject=words[f"{prefix}subject"].format(title=incident.title),
            email_body=words[f"{prefix}body"].format(title=incident.title, organization=organization, closes=closes),
            sms_body=_sms_body(words[f"{prefix}sms"], organization=organization, title=incident.title),
        )

    return batch_build(
        incident=incident, audience=audience_of(contacts), available_languages=MESSAGE_WORDS, words_for=words_for
    )


# ---------------------------------------------------------------------------------------------
# Scheduling and running the survey


def _enqueue_survey_timer(survey, run_after):
    from playbooks.surveys.tasks import survey_timer  # the task module imports these services

    enqueue_task(survey_timer, run_after=run_after, survey_id=survey.pk)


def survey_schedule(*, incident, now=None):
    """Create the incident's survey, sending CANDOR_SURVEY_DELAY_HOURS after resolution (never
    before now), with the playbook's extra questions frozen in. Returns the survey."""
    now = now or timezone.now()
    existing = ClientSurvey.objects.filter(incident=incident).first()
    if existing is not None:
        return existing
    delay = dt.timedelta(hours=settings.CANDOR_SURVEY_DELAY_HOURS)
    send_at = max(now, (incident.resolved_at or now) + delay) if delay else now
    questions = [
        question.snapshot()
        for question in SurveyQuestion.objects.filter(playbook_id=incident.playbook_id, is_active=True)
    ]
    survey = ClientSurvey.objects.create(incident=incident, send_at=send_at, questions=questions, created_at=now)
    _enqueue_survey_timer(survey, send_at)
    timeline_record(
        incident=incident,
        kind=TimelineKind.NOTE,
        at=now,
        note=f"Client survey scheduled for {_local(incident, send_at)}.",
        data={"event": "survey_scheduled", "survey": survey.pk, "send_at": send_at.isoformat()},
    )
    return survey


def survey_advance(*, survey, now):
    """Do whatever is due for this survey now: invite, remind, close. Safe to run late or twice.
    Returns what was done, e.g. ["invited"]."""
    done = []
    survey.refresh_from_db()
    if survey.invited_at is None and survey.send_at <= now:
        survey_invite(survey=survey, now=now)
        done.append("invited")
        survey.refresh_from_db()
    if survey.invited_at is not None and survey.closes_at <= now:
        if survey_close(survey=survey, now=now):
            done.append("closed")
    elif survey.invited_at is not None and survey.reminded_at is None and reminder_due_at(survey) <= now:
        survey_remind(survey=survey, now=now)
        done.append("reminded")
    return done


def reminder_due_at(survey):
    return survey.invited_at + dt.timedelta(days=settings.CANDOR_SURVEY_REMINDER_DAYS)


def surveys_sweep(*, now):
    """Advance every survey with something overdue (its timer lost). Returns the surveys touched."""
    touched = []
    due = ClientSurvey.objects.filter(closed_at__isnull=True).exclude(send_at__gt=now)
    for survey in due:
        if survey_advance(survey=survey, now=now):
            touched.append(survey.pk)
    return touched


def survey_invite(*, survey, now):
    """Invite every contact an update reached, on each channel they accept now. Once per survey."""
    with transaction.atomic():
        survey = (
            ClientSurvey.objects.select_for_update(of=("self",))
            .select_related("incident__organization")
            .get(pk=survey.pk)
        )
        if survey.invited_at is not None:
            return 0
        incident = survey.incident
        reached = contacts_reached(
            organization=incident.organization, topic=incident_topic(incident), source_prefix="update:"
        )
        contacts = audience_contacts(contact_ids=reached)
        survey.invited_at = now
        survey.closes_at = now + dt.timedelta(days=settings.CANDOR_SURVEY_CLOSES_AFTER_DAYS)
        survey.save(update_fields=["invited_at", "closes_at"])
        batch = _batch_for(incident, survey, contacts, reminder=False)
        channels = batch.channels
        SurveyInvitation.objects.bulk_create(
            [
                SurveyInvitation(
                    survey=survey,
                    contact=contact,
                    client_id=contact.client_id,
                    language=batch.languages[contact.pk],
                    channels=channels[contact.pk],
                    invited_at=now,
                )
                for contact in contacts
                if contact.pk in channels
            ],
            ignore_conflicts=True,
        )
        batch_queue(incident=incident, source=f"survey:{incident.pk}", batch=batch, expects_link="survey_url")
        by_channel = {channel: batch.count(channel) for channel in ("email", "sms")}
        timeline_record(
            incident=incident,
            kind=TimelineKind.NOTE,
            at=now,
            note=f"Client survey sent to {len(channels)} contact(s) ({by_channel['email']} by email, "
            f"{by_channel['sms']} by SMS); open until {_local(incident, survey.closes_at)}.",
            data={"event": "survey_invited", "survey": survey.pk, "contacts": len(channels), **by_channel},
        )
        _enqueue_survey_timer(survey, reminder_due_at(survey))
        _enqueue_survey_timer(survey, survey.closes_at)
    return len(channels)


def survey_remind(*, survey, now):
    """Remind, once, the invited contacts who have not answered yet."""
    with transaction.atomic():
        survey = (
            ClientSurvey.objects.select_for_update(of=("self",))
            .select_related("incident__organization")
            .get(pk=survey.pk)
        )
        if survey.invited_at is None or survey.reminded_at is not None or not survey.is_open_at(now):
            return 0
        incident = survey.incident
        silent = list(survey.invitations.filter(response__isnull=True).select_related("contact__client").order_by("id"))
        contacts = [invitation.contact for invitation in silent if invitation.contact.is_active]
        batch = _batch_for(incident, survey, contacts, reminder=True)
        channels = batch.channels
        survey.reminded_at = now
        survey.save(update_fields=["reminded_at"])
        SurveyInvitation.objects.filter(survey=survey, contact_id__in=list(channels)).update(reminded_at=now)
        batch_queue(incident=incident, source=f"survey-reminder:{incident.pk}", batch=batch, expects_link="survey_url")
        timeline_record(
            incident=incident,
            kind=TimelineKind.REMINDER,
            at=now,
            note=f"Survey reminder sent to {len(channels)} contact(s) who have not answered.",
            data={"event": "survey_reminded", "survey": survey.pk, "contacts": len(channels)},
        )
    return len(channels)


def survey_close(*, survey, now):
    """Record that the survey closed (answers are refused from closes_at either way)."""
    with transaction.atomic():
        survey = ClientSurvey.objects.select_for_update(of=("self",)).select_related("incident").get(pk=survey.pk)
        if survey.closed_at is not None or survey.invited_at is None or survey.closes_at > now:
            return False
        survey.closed_at = now
        survey.save(update_fields=["closed_at"])
        invited = survey.invitations.count()
        answered = SurveyResponse.objects.filter(invitation__survey=survey).count()
        timeline_record(
            incident=survey.incident,
            kind=TimelineKind.NOTE,
            at=now,
            note=f"Client survey closed: {answered} of {invited} contact(s) answered.",
            data={"event": "survey_closed", "survey": survey.pk, "invited": invited, "answered": answered},
        )
    return True


# ---------------------------------------------------------------------------------------------
# Answers


class SurveyClosed(Exception):
    """The survey no longer accepts answers."""


class SurveyAlreadyAnswered(Exception):
    """This link was already used to answer."""


@dataclass(frozen=True)
class SurveyLink:
    """What a survey link leads to now: the invitation and whether it can still be answered."""

    invitation: SurveyInvitation
    state: str  # "open", "answered" or "closed"


def survey_link_open(*, token, now=None):
    """The invitation behind a link, or None for a forged link or a contact never invited."""
    ids = ids_from_survey_token(token)
    if ids is None:
        return None
    invitation = (
        SurveyInvitation.objects.filter(survey__incident_id=ids[0], contact_id=ids[1])
        .select_related("survey__incident__organization", "survey__incident__playbook", "contact__client")
        .first()
    )
    if invitation is None:
        return None
    response = SurveyResponse.objects.filter(invitation=invitation).first()
    if response is not None and response.page_submitted_at is not None:
        return SurveyLink(invitation, "answered")
    if not invitation.survey.is_open_at(now or timezone.now()):
        return SurveyLink(invitation, "closed")
    return SurveyLink(invitation, "open")


ANSWER_FIELDS = ("csat", "kept_informed", "clarity", "nps", "comment")


def survey_answer(*, invitation, answers, now=None):
    """Record what a contact answered on the survey page. `answers` holds any of csat,
    kept_informed, clarity (1-5), nps (0-10), comment, and "extra" ({question id: value}); missing
    ones stay unanswered. Raises SurveyClosed or SurveyAlreadyAnswered (the link is single use),
    ValidationError when nothing at all was answered."""
    now = now or timezone.now()
    extra = {str(key): value for key, value in (answers.get("extra") or {}).items() if value not in (None, "")}
    given = {field: answers.get(field) for field in ANSWER_FIELDS if answers.get(field) not in (None, "")}
    if not given and not extra:
        raise ValidationError("Answer at least one question.")
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(of=("self",))
            .select_related("survey__incident", "contact__client")
            .get(pk=invitation.pk)
        )
        response = SurveyResponse.objects.filter(invitation=invitation).first()
        if response is not None and response.page_submitted_at is not None:
            raise SurveyAlreadyAnswered()
        if not invitation.survey.is_open_at(now):
            raise SurveyClosed()
        incident = invitation.survey.incident
        if response is None:
            response = SurveyResponse(
                invitation=invitation, incident=incident, client_id=invitation.client_id, first_answered_at=now
            )
        for field, value in given.items():
            setattr(response, field, value.strip() if isinstance(value, str) else value)
        if "csat" in given:
            response.csat_via = ResponseVia.PAGE
        response.extra_answers = {**response.extra_answers, **extra}
        response.page_submitted_at = now
        response.full_clean(exclude=["invitation", "incident", "client"])
        response.save()
        contact = invitation.contact
        timeline_record(
            incident=incident,
            kind=TimelineKind.CLIENT_REPLY,
            at=now,
            note=f"{contact.name} ({contact.client.name}) answered the survey: {_scores(response)}.",
            data={"event": "survey_answered", "response": response.pk, "contact": contact.pk, "via": "page"},
        )
        _announce_answer(incident, response, contact, "page", now)
        follow_up_open_if_low(response=response, now=now)
    return response


def _announce_answer(incident, response, contact, via, at):
    incident_webhook_emit(
        incident=incident,
        event_type=webhook_events.SURVEY_ANSWERED,
        source=f"survey-response:{response.pk}:{via}",
        data={
            "response": {
                "id": response.pk,
                "client": {"id": contact.client_id, "name": contact.client.name},
                "contact": {"id": contact.pk, "name": contact.name},
                "via": via,
                **{field: getattr(response, field) for field in ANSWER_FIELDS},
            }
        },
        at=at,
    )


def _scores(response):
    parts = []
    if response.csat is not None:
        parts.append(f"satisfaction {response.csat}/5")
    if response.kept_informed is not None:
        parts.append(f"kept informed {response.kept_informed}/5")
    if response.clarity is not None:
        parts.append(f"clarity {response.clarity}/5")
    if response.nps is not None:
        parts.append(f"recommend {response.nps}/10")
    if response.comment:
        parts.append("with a comment")
    return ", ".join(parts) or "no scores"


def sms_score(body):
    """1..5 when an SMS reply is just that digit (full-width digits and a full stop allowed)."""
    text = unicodedata.normalize("NFKC", body or "").strip().rstrip(".!。")
    return int(text) if text in {"1", "2", "3", "4", "5"} else None


def survey_answer_from_sms(*, incident, contact, body, at=None):
    """An SMS reply "1".."5" from a contact with an open invitation records their satisfaction
    (once: a later digit is an ordinary reply). Returns the response, or None when the reply is
    not a survey answer."""
    score = sms_score(body)
    if score is None or contact is None:
        return None
    at = at or timezone.now()
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(of=("self",))
            .filter(survey__incident=incident, contact=contact)
            .select_related("survey", "contact__client")
            .first()
        )
        if invitation is None or not invitation.survey.is_open_at(at):
            return None
        response = SurveyResponse.objects.filter(invitation=invitation).first()
        if response is not None and response.csat is not None:
            return None
        if response is None:
            response = SurveyResponse(
                invitation=invitation, incident=incident, client_id=invitation.client_id, first_answered_at=at
            )
        response.csat = score
        response.csat_via = ResponseVia.SMS
        response.save()
        timeline_record(
            incident=incident,
            kind=TimelineKind.CLIENT_REPLY,
            at=at,
            note=f"{contact.name} ({contact.client.name}) answered the survey by SMS: satisfaction {score}/5.",
            data={"event": "survey_answered", "response": response.pk, "contact": contact.pk, "via": "sms"},
        )
        _announce_answer(incident, response, contact, "sms", at)
        follow_up_open_if_low(response=response, now=at)
    return response


def question_text(question, language, default_language="en"):
    """A frozen extra question in the reader's language (then the playbook's, then English)."""
    texts = question.get("texts") or {}
    chosen = choose_language([language, default_language], texts.keys())
    return texts.get(chosen, ""), chosen
