"""After the crisis, as pages: the client survey (signed link, no login, no JavaScript needed), the
internal debrief, the leadership review with its charts and CSV exports, the proof of
notification, and the follow-ups.

Thin: parse input, check who may do it, call one service or selector, render. Every member of the
organisation reads these pages; the debrief is edited by commanders, admins and communicators;
follow-ups are closed by their owner (leadership only ever their own), commanders and admins.
Another organisation's incident or follow-up is a 404.
"""

import csv
import datetime as dt
import functools
import zoneinfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from comms.links import preferences_url
from comms.rendering import format_local_time
from playbooks.debriefs import services as debriefs
from playbooks.incidents.selectors import incident_get
from playbooks.leadership.charts import Bar, bar_chart
from playbooks.leadership.metrics import (
    incident_metrics,
    leadership_overview,
    overview_csv_rows,
    proof_csv_rows,
    proof_of_notification,
)
from playbooks.models import DebriefActionItem, FollowUp, QuestionKind, SurveyResponse
from playbooks.surveys import services as surveys

# ---------------------------------------------------------------------------------------------
# The survey page's words, per language (English for any other)

SURVEY_PAGE_WORDS = {
    "en": {
        "page_title": "Your view on how we handled it",
        "heading": "How did we do?",
        "intro": "About “{title}”. Every question is optional: answer what you like, then send.",
        "csat": "Overall, how satisfied are you with how we handled this incident?",
        "csat_low": "Very dissatisfied",
        "csat_high": "Very satisfied",
        "kept_informed": "“We kept you informed.” How much do you agree?",
        "agree_low": "Strongly disagree",
        "agree_high": "Strongly agree",
        "clarity": "How clear were our updates?",
        "clarity_low": "Very unclear",
        "clarity_high": "Very clear",
        "nps": "How likely are you to recommend {organization} to a colleague?",
        "nps_low": "Not at all likely",
        "nps_high": "Extremely likely",
        "scale_low": "Poor",
        "scale_high": "Very good",
        "comment": "Anything else you want to tell us?",
        "comment_hint": "Your words go to the team that handled the incident.",
        "submit": "Send my answers",
        "sms_given": "You already gave us {score} by SMS; change it below if you like.",
        "need_one": "Please answer at least one question.",
        "invalid": "Some answers could not be read; please check them.",
        "thanks_title": "Thank you",
        "thanks": "Your answers have reached our team. They help us do better next time.",
        "already_title": "You have already answered",
        "already": "Thank you: your answers reached us at {date}. Each link can be used once.",
        "closed_title": "This survey is closed",
        "closed": "This survey closed at {date}. Thank you all the same; to tell us something, reply to our last "
        "message or contact your account manager.",
        "skip": "Skip to content",
        "preferences": "Your contact preferences",
        "footer": "Sent by {organization} about “{title}”.",
    },
    "de": {
        "page_title": "Ihre Meinung zu unserem Vorgehen",
        "heading": "Wie zufrieden waren Sie mit uns?",
        "intro": "Zu „{title}“. Alle Fragen sind freiwillig: Beantworten Sie, was Sie möchten, und senden Sie ab.",
        "csat": "Wie zufrieden sind Sie insgesamt damit, wie wir diesen Vorfall bewältigt haben?",
        "csat_low": "Sehr unzufrieden",
        "csat_high": "Sehr zufrieden",
        "kept_informed": "„Wir haben Sie auf dem Laufenden gehalten.“ Wie sehr stimmen Sie zu?",
        "agree_low": "Stimme gar nicht zu",
        "agree_high": "Stimme voll zu",
        "clarity": "Wie verständlich waren unsere Meldungen?",
        "clarity_low": "Sehr unverständlich",
        "clarity_high": "Sehr verständlich",
        "nps": "Wie wahrscheinlich ist es, dass Sie {organization} einer Kollegin oder einem Kollegen empfehlen?",
        "nps_low": "Sehr unwahrscheinlich",
        "nps_high": "Sehr wahrscheinlich",
        "scale_low": "Schlecht",
        "scale_high": "Sehr gut",
        "comment": "Möchten Sie uns noch etwas sagen?",
        "comment_hint": "Ihre Worte gehen an das Team, das den Vorfall bearbeitet hat.",
        "submit": "Antworten senden",
        "sms_given": "Sie haben uns per SMS bereits eine {score} gegeben; unten können Sie das ändern.",
        "need_one": "Bitte beantworten Sie mindestens eine Frage.",
        "invalid": "Einige Antworten konnten nicht gelesen werden; bitte prüfen Sie sie.",
        "thanks_title": "Vielen Dank",
        "thanks": "Ihre Antworten sind bei unserem Team angekommen. Sie helfen uns, es beim nächsten Mal besser zu machen.",
        "already_title": "Sie haben bereits geantwortet",
        "already": "Vielen Dank: Ihre Antworten sind am {date} eingegangen. Jeder Link kann einmal verwendet werden.",
        "closed_title": "Diese Umfrage ist beendet",
        "closed": "Diese Umfrage wurde am {date} beendet. Trotzdem vielen Dank. Wenn Sie uns etwas mitteilen möchten, "
        "antworten Sie auf unsere letzte Nachricht oder wenden Sie sich an Ihre Ansprechperson.",
        "skip": "Zum Inhalt springen",
        "preferences": "Ihre Kontakteinstellungen",
        "footer": "Gesendet von {organization} zu „{title}“.",
    },
    "fr": {
        "page_title": "Votre avis sur notre gestion",
        "heading": "Comment avons-nous fait ?",
        "intro": "Au sujet de « {title} ». Toutes les questions sont facultatives : répondez à ce que vous voulez, "
        "puis envoyez.",
        "csat": "Dans l'ensemble, êtes-vous satisfait de la façon dont nous avons géré cet incident ?",
        "csat_low": "Très insatisfait",
        "csat_high": "Très satisfait",
        "kept_informed": "« Nous vous avons tenu informé. » Êtes-vous d'accord ?",
        "agree_low": "Pas du tout d'accord",
        "agree_high": "Tout à fait d'accord",
        "clarity": "Nos messages étaient-ils clairs ?",
        "clarity_low": "Pas clairs du tout",
        "clarity_high": "Très clairs",
        "nps": "Quelle est la probabilité que vous recommandiez {organization} à un collègue ?",
        "nps_low": "Très peu probable",
        "nps_high": "Très probable",
        "scale_low": "Mauvais",
        "scale_high": "Très bien",
        "comment": "Souhaitez-vous nous dire autre chose ?",
        "comment_hint": "Vos mots sont transmis à l'équipe qui a géré l'incident.",
        "submit": "Envoyer mes réponses",
        "sms_given": "Vous nous avez déjà donné {score} par SMS ; vous pouvez le modifier ci-dessous.",
        "need_one": "Merci de répondre à au moins une question.",
        "invalid": "Certaines réponses n'ont pas pu être lues ; merci de les vérifier.",
        "thanks_title": "Merci",
        "thanks": "Vos réponses sont bien arrivées à notre équipe. Elles nous aident à faire mieux la prochaine fois.",
        "already_title": "Vous avez déjà répondu",
        "already": "Merci : nous avons reçu vos réponses le {date}. Chaque lien ne sert qu'une fois.",
        "closed_title": "Ce questionnaire est clos",
        "closed": "Ce questionnaire a été clos le {date}. Merci tout de même ; pour nous dire quelque chose, répondez "
        "à notre dernier message ou contactez votre interlocuteur habituel.",
        "skip": "Aller au contenu",
        "preferences": "Vos préférences de contact",
        "footer": "Envoyé par {organization} au sujet de « {title} ».",
    },
    "es": {
        "page_title": "Su opinión sobre nuestra gestión",
        "heading": "¿Qué tal lo hicimos?",
        "intro": 'Sobre "{title}". Todas las preguntas son opcionales: responda lo que quiera y envíe.',
        "csat": "En general, ¿qué tan satisfecho está con cómo gestionamos este incidente?",
        "csat_low": "Muy insatisfecho",
        "csat_high": "Muy satisfecho",
        "kept_informed": '"Le mantuvimos informado." ¿Qué tan de acuerdo está?',
        "agree_low": "Muy en desacuerdo",
        "agree_high": "Muy de acuerdo",
        "clarity": "¿Qué tan claros fueron nuestros mensajes?",
        "clarity_low": "Nada claros",
        "clarity_high": "Muy claros",
        "nps": "¿Qué probabilidad hay de que recomiende {organization} a un colega?",
        "nps_low": "Nada probable",
        "nps_high": "Muy probable",
        "scale_low": "Mal",
        "scale_high": "Muy bien",
        "comment": "¿Hay algo más que quiera decirnos?",
        "comment_hint": "Sus palabras llegan al equipo que gestionó el incidente.",
        "submit": "Enviar mis respuestas",
        "sms_given": "Ya nos dio un {score} por SMS; puede cambiarlo abajo.",
        "need_one": "Responda al menos una pregunta, por favor.",
        "invalid": "No pudimos leer algunas respuestas; revíselas, por favor.",
        "thanks_title": "Gracias",
        "thanks": "Sus respuestas han llegado a nuestro equipo. Nos ayudan a hacerlo mejor la próxima vez.",
        "already_title": "Ya ha respondido",
        "already": "Gracias: recibimos sus respuestas el {date}. Cada enlace se puede usar una vez.",
        "closed_title": "Esta encuesta está cerrada",
        "closed": "Esta encuesta se cerró el {date}. Gracias de todos modos; si quiere decirnos algo, responda a "
        "nuestro último mensaje o contacte con su gestor de cuenta.",
        "skip": "Ir al contenido",
        "preferences": "Sus preferencias de contacto",
        "footer": 'Enviado por {organization} sobre "{title}".',
    },
    "pt-br": {
        "page_title": "Sua opinião sobre como cuidamos disso",
        "heading": "Como nos saímos?",
        "intro": 'Sobre "{title}". Todas as perguntas são opcionais: responda o que quiser e envie.',
        "csat": "No geral, quão satisfeito você está com a forma como cuidamos deste incidente?",
        "csat_low": "Muito insatisfeito",
        "csat_high": "Muito satisfeito",
        "kept_informed": '"Mantivemos você informado." Quanto você concorda?',
        "agree_low": "Discordo totalmente",
        "agree_high": "Concordo totalmente",
        "clarity": "Quão claras foram as nossas mensagens?",
        "clarity_low": "Nada claras",
        "clarity_high": "Muito claras",
        "nps": "Qual a chance de você recomendar {organization} a um colega?",
        "nps_low": "Nenhuma chance",
        "nps_high": "Com certeza",
        "scale_low": "Ruim",
        "scale_high": "Ótimo",
        "comment": "Quer nos contar mais alguma coisa?",
        "comment_hint": "Suas palavras vão para a equipe que cuidou do incidente.",
        "submit": "Enviar minhas respostas",
        "sms_given": "Você já nos deu nota {score} por SMS; se quiser, mude abaixo.",
        "need_one": "Por favor, responda pelo menos uma pergunta.",
        "invalid": "Não conseguimos ler algumas respostas; confira, por favor.",
        "thanks_title": "Muito obrigado!",
        "thanks": "Suas respostas chegaram à nossa equipe. Elas nos ajudam a fazer melhor da próxima vez.",
        "already_title": "Você já respondeu",
        "already": "Obrigado! Recebemos suas respostas em {date}. Cada link pode ser usado uma vez.",
        "closed_title": "Esta pesquisa foi encerrada",
        "closed": "Esta pesquisa foi encerrada em {date}. Obrigado mesmo assim! Se quiser nos dizer algo, responda "
        "à nossa última mensagem ou fale com o seu gerente de conta.",
        "skip": "Pular para o conteúdo",
        "preferences": "Suas preferências de contato",
        "footer": 'Enviado por {organization} sobre "{title}".',
    },
    "ja": {
        "page_title": "当社の対応についてのアンケート",
        "heading": "当社の対応はいかがでしたか",
        "intro": "「{title}」について。すべての質問は任意です。お答えいただける項目のみご回答のうえ、送信してください。",
        "csat": "本件への当社の対応に、全体としてどの程度満足されましたか。",
        "csat_low": "大変不満",
        "csat_high": "大変満足",
        "kept_informed": "「当社は状況を適切にお知らせした」と思われますか。",
        "agree_low": "まったくそう思わない",
        "agree_high": "とてもそう思う",
        "clarity": "当社からのお知らせは分かりやすかったですか。",
        "clarity_low": "とても分かりにくい",
        "clarity_high": "とても分かりやすい",
        "nps": "{organization}を同僚の方に薦める可能性はどのくらいありますか。",
        "nps_low": "まったくない",
        "nps_high": "非常に高い",
        "scale_low": "悪い",
        "scale_high": "とても良い",
        "comment": "その他、ご意見がございましたらお聞かせください。",
        "comment_hint": "いただいたご意見は対応チームに共有いたします。",
        "submit": "回答を送信する",
        "sms_given": "SMSで「{score}」とご回答いただいています。変更する場合は下記で選び直してください。",
        "need_one": "少なくとも1つの質問にご回答ください。",
        "invalid": "読み取れない回答がありました。ご確認ください。",
        "thanks_title": "ご回答ありがとうございました",
        "thanks": "ご回答は対応チームに届きました。今後の改善に役立てます。",
        "already_title": "すでにご回答いただいています",
        "already": "{date}にご回答を受け付けました。ありがとうございました。このリンクは1回のみご利用いただけます。",
        "closed_title": "このアンケートは終了しました",
        "closed": "このアンケートは{date}に終了しました。ご意見がございましたら、最後のメッセージにご返信いただくか、"
        "担当者までご連絡ください。",
        "skip": "本文へ移動",
        "preferences": "連絡設定",
        "footer": "{organization}より「{title}」についてお送りしています。",
    },
}

SCORED_QUESTIONS = (
    # (field, words key, low words key, high words key, lowest, highest)
    ("csat", "csat", "csat_low", "csat_high", 1, 5),
    ("kept_informed", "kept_informed", "agree_low", "agree_high", 1, 5),
    ("clarity", "clarity", "clarity_low", "clarity_high", 1, 5),
    ("nps", "nps", "nps_low", "nps_high", 0, 10),
)
COMMENT_MAX_CHARS = 5000


def _private(response):
    """The survey link is a secret: no shared caches, no Referer to other sites, no search engines.
    (Not "no-referrer": Chromium then posts the form with `Origin: null`, which CSRF refuses.)"""
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _survey_words(invitation):
    incident = invitation.survey.incident
    language = invitation.language if invitation.language in SURVEY_PAGE_WORDS else "en"
    values = {"title": incident.title, "organization": incident.organization.name}
    return language, {
        key: text.replace("{title}", values["title"]).replace("{organization}", values["organization"])
        for key, text in SURVEY_PAGE_WORDS[language].items()
    }


def _survey_questions(invitation, words, data, language):
    """What the form shows: the four standard questions, the playbook's extra ones, the comment."""
    questions = []
    for name, legend, low, high, lowest, highest in SCORED_QUESTIONS:
        questions.append(
            {
                "name": name,
                "legend": words[legend],
                "low": words[low],
                "high": words[high],
                "kind": "nps" if name == "nps" else "scale",
                "lowest": lowest,
                "highest": highest,
                "options": [
                    {"value": value, "checked": str(data.get(name, "")) == str(value)}
                    for value in range(lowest, highest + 1)
                ],
            }
        )
    default_language = invitation.survey.incident.plan.get("default_language") or "en"
    for question in invitation.survey.questions:
        name = f"q{question['id']}"
        text, text_language = surveys.question_text(question, language, default_language)
        entry = {
            "name": name,
            "legend": text,
            "lang": text_language if text_language != language else "",
            "kind": "scale" if question["kind"] == QuestionKind.SCALE else "text",
            "value": data.get(name, ""),
        }
        if entry["kind"] == "scale":
            entry.update(
                low=words["scale_low"],
                high=words["scale_high"],
                lowest=1,
                highest=5,
                options=[{"value": value, "checked": str(data.get(name, "")) == str(value)} for value in range(1, 6)],
            )
        questions.append(entry)
    return questions


def _parse_answers(post, invitation):
    """The answers given (missing ones left out) and the names of fields that could not be read."""
    answers, invalid = {"extra": {}}, []
    for name, _, _, _, lowest, highest in SCORED_QUESTIONS:
        raw = (post.get(name) or "").strip()
        if not raw:
            continue
        if raw.isdigit() and lowest <= int(raw) <= highest:
            answers[name] = int(raw)
        else:
            invalid.append(name)
    comment = (post.get("comment") or "").strip()
    if comment:
        answers["comment"] = comment[:COMMENT_MAX_CHARS]
    for question in invitation.survey.questions:
        raw = (post.get(f"q{question['id']}") or "").strip()
        if not raw:
            continue
        if question["kind"] == QuestionKind.SCALE:
            if raw.isdigit() and 1 <= int(raw) <= 5:
                answers["extra"][str(question["id"])] = int(raw)
            else:
                invalid.append(f"q{question['id']}")
        else:
            answers["extra"][str(question["id"])] = raw[:COMMENT_MAX_CHARS]
    return answers, invalid


def _survey_render(request, invitation, template, *, status=200, **context):
    language, words = _survey_words(invitation)
    incident = invitation.survey.incident
    contact = invitation.contact
    context.update(
        {
            "page_language": language,
            "words": words,
            "incident": incident,
            "organization_name": incident.organization.name,
            "preferences_href": preferences_url(contact.pk),
        }
    )
    return _private(render(request, f"playbooks/survey/{template}", context, status=status))


def _local_for(invitation, moment):
    language, _ = _survey_words(invitation)
    return format_local_time(moment, language=language, timezone_name=invitation.contact.effective_timezone)


@require_http_methods(["GET", "POST"])
def survey_page(request, token):
    """The survey: one page, every answer optional, answered once through its signed link."""
    link = surveys.survey_link_open(token=token)
    if link is None:
        raise Http404("No such survey.")
    invitation = link.invitation
    if link.state == "answered":
        response = SurveyResponse.objects.get(invitation=invitation)
        if request.method == "GET" and request.GET.get("sent") == "1":
            return _survey_render(request, invitation, "thanks.html")
        words = _survey_words(invitation)[1]
        return _survey_render(
            request,
            invitation,
            "already.html",
            status=409 if request.method == "POST" else 200,
            text=words["already"].replace("{date}", _local_for(invitation, response.page_submitted_at)),
        )
    if link.state == "closed":
        words = _survey_words(invitation)[1]
        return _survey_render(
            request,
            invitation,
            "closed.html",
            status=410,
            text=words["closed"].replace("{date}", _local_for(invitation, invitation.survey.closes_at)),
        )
    language, words = _survey_words(invitation)
    existing = SurveyResponse.objects.filter(invitation=invitation).first()
    error = ""
    status = 200
    if request.method == "POST":
        answers, invalid = _parse_answers(request.POST, invitation)
        if invalid:
            error, status = words["invalid"], 400
        else:
            try:
                surveys.survey_answer(invitation=invitation, answers=answers)
            except surveys.SurveyAlreadyAnswered:
                return redirect(f"{reverse('survey', args=[token])}")
            except surveys.SurveyClosed:
                return redirect(f"{reverse('survey', args=[token])}")
            except ValidationError:
                error, status = words["need_one"], 400
            else:
                response = redirect(f"{reverse('survey', args=[token])}?sent=1")
                response.status_code = 303
                return _private(response)
        data = request.POST
    else:
        data = {"csat": existing.csat} if existing and existing.csat is not None else {}
    sms_note = ""
    if existing is not None and existing.csat is not None and existing.csat_via == "sms":
        sms_note = words["sms_given"].replace("{score}", str(existing.csat))
    return _survey_render(
        request,
        invitation,
        "form.html",
        status=status,
        questions=_survey_questions(invitation, words, data, language),
        comment=data.get("comment", "") if request.method == "POST" else "",
        error=error,
        sms_note=sms_note,
        comment_max=COMMENT_MAX_CHARS,
    )


# ---------------------------------------------------------------------------------------------
# Pages for members of the organisation


def member_view(view):
    """Logged-in members of an organisation only; times in the organisation's timezone."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        organization = request.user.organization
        if organization is None:
            raise PermissionDenied("These pages are for members of an organisation.")
        with timezone.override(zoneinfo.ZoneInfo(organization.timezone or "UTC")):
            return view(request, *args, **kwargs)

    return wrapper


def _csv_cell(value):
    """Spreadsheets run cells starting with = + - @ as formulas: make words inert, keep numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def _csv_response(filename, rows):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return response


# ---- The internal debrief


class DebriefForm(forms.Form):
    what_happened = forms.CharField(
        label="What happened",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Pre-filled from the timeline when the debrief opened; edit freely.",
    )
    went_well = forms.CharField(label="What went well", required=False, widget=forms.Textarea(attrs={"rows": 5}))
    went_badly = forms.CharField(label="What did not go well", required=False, widget=forms.Textarea(attrs={"rows": 5}))


class ActionItemForm(forms.Form):
    description = forms.CharField(label="Action", max_length=500)
    owner = forms.ModelChoiceField(label="Owner", queryset=None)
    due_on = forms.DateField(label="Due", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = debriefs.organization_members(organization=organization)
        self.fields["owner"].label_from_instance = lambda user: (
            f"{user.get_full_name() or user.username} ({user.get_role_display()})"
        )


def _add_errors(form, error):
    if hasattr(error, "error_dict"):
        for field_name, field_errors in error.message_dict.items():
            form.add_error(field_name if field_name in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


def _debrief_context(request, incident, *, form=None, action_form=None, error=""):
    debrief = debriefs.debrief_get_or_open(incident=incident)
    can_edit = debriefs.can_edit_debrief(request.user, incident) and not incident.is_final
    return {
        "section": "debrief",
        "incident": incident,
        "debrief": debrief,
        "can_edit": can_edit,
        "form": form
        or DebriefForm(
            initial={
                "what_happened": debrief.what_happened,
                "went_well": debrief.went_well,
                "went_badly": debrief.went_badly,
            }
        ),
        "action_form": action_form or ActionItemForm(organization=incident.organization),
        "action_items": list(debrief.action_items.select_related("owner")),
        "missing": debrief.missing_for_completion(),
        "follow_ups": list(incident.follow_ups.select_related("client", "owner", "closed_by")),
        "survey": getattr(incident, "survey", None),
        "error": error,
        "today": timezone.localdate(),
    }


@member_view
@require_http_methods(["GET", "POST"])
def debrief_page(request, pk):
    """The internal debrief: anyone in the organisation reads it; the incident team writes it."""
    incident = incident_get(user=request.user, pk=pk)
    if request.method == "POST":
        debrief = debriefs.debrief_get_or_open(incident=incident)
        form = DebriefForm(request.POST)
        if form.is_valid():
            try:
                debriefs.debrief_save(debrief=debrief, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, "Debrief saved.")
                return redirect("debrief", pk=incident.pk)
        return render(
            request, "playbooks/debrief/debrief.html", _debrief_context(request, incident, form=form), status=400
        )
    return render(request, "playbooks/debrief/debrief.html", _debrief_context(request, incident))


@member_view
@require_POST
def debrief_action_add_view(request, pk):
    incident = incident_get(user=request.user, pk=pk)
    debrief = debriefs.debrief_get_or_open(incident=incident)
    form = ActionItemForm(request.POST, organization=incident.organization)
    if form.is_valid():
        try:
            debriefs.debrief_action_add(debrief=debrief, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Action item added.")
            return redirect(f"{reverse('debrief', args=[incident.pk])}#actions")
    elif not debriefs.can_edit_debrief(request.user, incident):
        raise PermissionDenied("Only the incident team may edit the debrief.")
    return render(
        request, "playbooks/debrief/debrief.html", _debrief_context(request, incident, action_form=form), status=400
    )


@member_view
@require_POST
def debrief_action_view(request, pk, item_pk):
    """Tick an action item off or on, or remove it."""
    incident = incident_get(user=request.user, pk=pk)
    item = get_object_or_404(
        DebriefActionItem.objects.select_related("debrief"), pk=item_pk, debrief__incident=incident
    )
    what = request.POST.get("do")
    try:
        if what == "remove":
            debriefs.debrief_action_remove(item=item, actor=request.user)
        elif what in ("done", "undone"):
            debriefs.debrief_action_done(item=item, actor=request.user, done=what == "done")
        else:
            return HttpResponse("Say what to do: done, undone or remove.", status=400)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(f"{reverse('debrief', args=[incident.pk])}#actions")


@member_view
@require_POST
def debrief_state_view(request, pk):
    """Mark the debrief complete (closing the incident becomes possible) or reopen it."""
    incident = incident_get(user=request.user, pk=pk)
    debrief = debriefs.debrief_get_or_open(incident=incident)
    try:
        if request.POST.get("do") == "reopen":
            debriefs.debrief_reopen(debrief=debrief, actor=request.user)
            messages.success(request, "Debrief reopened: the incident cannot be closed until it is complete again.")
        else:
            debriefs.debrief_complete(debrief=debrief, actor=request.user)
            messages.success(request, "Debrief complete: the commander can now close the incident.")
    except ValidationError as error:
        return render(
            request,
            "playbooks/debrief/debrief.html",
            _debrief_context(request, incident, error=" ".join(error.messages)),
            status=400,
        )
    return redirect("debrief", pk=incident.pk)


# ---- Leadership review


def _minutes_text(delta):
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    if minutes >= 48 * 60:
        return f"{minutes / 1440:.1f} days"
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes} min"


def _percent(value):
    return "—" if value is None else f"{100 * value:.0f}%"


def _average(value, digits=1):
    return "—" if value is None else f"{value:.{digits}f}"


def _nps(value):
    return "—" if value is None else f"{value:+.0f}"


def _action_figures(m):
    """What was done, as (label, figure, detail) for the review page."""
    counts = m.adherence.counts
    email, sms = m.channels["email"], m.channels["sms"]
    published = timezone.localtime(m.first_notice_at).strftime("%Y-%m-%d %H:%M %Z") if m.first_notice_at else ""
    return [
        (
            "Time to first client notice",
            _minutes_text(m.time_to_first_notice),
            f"first update published {published}" if published else "no update published",
        ),
        ("Updates sent", str(m.updates_sent), f"{m.holding_statements} of them holding statements"),
        (
            "Promises kept on time",
            _percent(m.kept_on_time_share),
            (
                f"{counts.get('kept', 0)} kept, {counts.get('kept_late', 0)} late, {counts.get('holding', 0)} covered by a "
                f"holding statement, {counts.get('missed', 0)} missed"
            ),
        ),
        ("Reach", _percent(m.reach), f"{m.contacts_reached} of {m.contacts_affected} affected contacts reached"),
        (
            "Email sent or delivered",
            _percent(email.reached_share),
            f"{email.reached} of {email.messages}: {email.delivered} delivery confirmed, {email.failed} failed",
        ),
        (
            "SMS sent or delivered",
            _percent(sms.reached_share),
            f"{sms.reached} of {sms.messages}: {sms.delivered} delivery confirmed, {sms.failed} failed",
        ),
        ("Time to resolution", _minutes_text(m.time_to_resolution), "from detection to resolution"),
    ]


def _sentiment_figures(m):
    """How it was felt, as (label, figure, detail)."""
    s = m.scores
    figures = [
        ("Response rate", _percent(m.response_rate), f"{m.answered} of {m.invited} invited contacts answered"),
        ("Satisfaction (CSAT, 1-5)", _average(s.csat_average), f"{len(s.csat_answers)} answers"),
        (
            "NPS (-100 to 100)",
            _nps(s.nps),
            f"{s.promoters} promoters, {s.passives} passives, {s.detractors} detractors",
        ),
        ("“We kept you informed” (1-5)", _average(s.kept_informed_average), f"{len(s.kept_informed_answers)} answers"),
        ("Clarity of updates (1-5)", _average(s.clarity_average), f"{len(s.clarity_answers)} answers"),
    ]
    for question in m.questions:
        if question.kind == QuestionKind.SCALE:
            figures.append((f"{question.text} (1-5)", _average(question.average), f"{question.answers} answers"))
        else:
            figures.append((question.text, str(question.answers), "written answers, listed with the comments"))
    return figures


def _totals_row(t):
    return {
        "label": t.label,
        "incidents": t.incidents,
        "first_notice": "—" if t.first_notice_minutes is None else f"{t.first_notice_minutes:.0f} min",
        "resolution": "—" if t.resolution_hours is None else f"{t.resolution_hours:.1f} h",
        "updates": t.updates_sent,
        "kept": _percent(t.kept_on_time_share),
        "reach": _percent(t.reach),
        "email": _percent(t.channels["email"].reached_share),
        "sms": _percent(t.channels["sms"].reached_share),
        "response": _percent(t.response_rate),
        "csat": _average(t.scores.csat_average),
        "nps": _nps(t.scores.nps),
        "follow_ups": t.open_follow_ups,
    }


def _incident_charts(metrics):
    scores = metrics.scores
    csat_counts = [
        Bar(f"{score} / 5", scores.csat_answers.count(score), str(scores.csat_answers.count(score)))
        for score in range(1, 6)
    ]
    nps_groups = [
        Bar("Detractors (0-6)", scores.detractors, str(scores.detractors)),
        Bar("Passives (7-8)", scores.passives, str(scores.passives)),
        Bar("Promoters (9-10)", scores.promoters, str(scores.promoters)),
    ]
    reach = [
        Bar(
            client.name,
            None if client.reach is None else 100 * client.reach,
            "—"
            if client.reach is None
            else f"{100 * client.reach:.0f}% ({client.contacts_reached}/{client.contacts_affected})",
        )
        for client in metrics.clients
    ]
    return [
        {
            "heading": "Contacts reached per client",
            "svg": bar_chart(
                chart_id="chart-reach",
                title="Contacts reached per client",
                description="Share of each client's affected contacts reached by at least one update.",
                bars=reach,
                unit="%",
                minimum=0,
                maximum=100,
            ),
        },
        {
            "heading": "Satisfaction answers",
            "svg": bar_chart(
                chart_id="chart-csat",
                title="Satisfaction answers by score",
                description="How many contacts gave each satisfaction score, 1 (very dissatisfied) to 5 (very satisfied).",
                bars=csat_counts,
            ),
        },
        {
            "heading": "Recommendation answers",
            "svg": bar_chart(
                chart_id="chart-nps",
                title="Recommendation answers by group",
                description="Detractors, passives and promoters among those who answered the 0-10 question.",
                bars=nps_groups,
            ),
        },
    ]


def _follow_up_rows(user, follow_ups, now):
    return [
        {
            "follow_up": follow_up,
            "can_close": follow_up.is_open and debriefs.can_close_follow_up(user, follow_up),
            "overdue": follow_up.is_overdue_at(now),
        }
        for follow_up in follow_ups
    ]


@member_view
def incident_review(request, pk):
    """One incident for leadership: what was done beside how it was felt, and per client."""
    incident = incident_get(user=request.user, pk=pk)
    metrics = incident_metrics(incident=incident)
    return render(
        request,
        "playbooks/leadership/incident.html",
        {
            "section": "review",
            "incident": incident,
            "m": metrics,
            "first_notice": _minutes_text(metrics.time_to_first_notice),
            "resolution": _minutes_text(metrics.time_to_resolution),
            "actions": _action_figures(metrics),
            "sentiment": _sentiment_figures(metrics),
            "clients": [
                {
                    "c": client,
                    "first_notice": _minutes_text(client.first_notice_after),
                    "reach": _percent(client.reach),
                    "response": _percent(client.response_rate),
                    "csat": _average(client.scores.csat_average),
                    "nps": _nps(client.scores.nps),
                }
                for client in metrics.clients
            ],
            "charts": _incident_charts(metrics),
            "follow_ups": _follow_up_rows(request.user, metrics.follow_ups, timezone.now()),
            "channels": [metrics.channels["email"], metrics.channels["sms"]],
        },
    )


@member_view
def incident_proof(request, pk):
    """Proof of notification, as a printable page."""
    incident = incident_get(user=request.user, pk=pk)
    return render(
        request,
        "playbooks/leadership/proof.html",
        {
            "section": "proof",
            "incident": incident,
            "proof": proof_of_notification(incident=incident),
        },
    )


@member_view
def incident_proof_csv(request, pk):
    incident = incident_get(user=request.user, pk=pk)
    proof = proof_of_notification(incident=incident)
    return _csv_response(f"proof-of-notification-incident-{incident.pk}.csv", proof_csv_rows(proof))


PERIODS = {"3": 3, "12": 12, "36": 36, "all": None}


def _since(request):
    period = request.GET.get("months", "12")
    if period not in PERIODS:
        period = "12"
    months = PERIODS[period]
    return period, (timezone.now() - dt.timedelta(days=31 * months) if months else None)


def _overview_charts(overview):
    def rate_bar(totals, value):
        return Bar(
            totals.label, None if value is None else 100 * value, "—" if value is None else f"{100 * value:.0f}%"
        )

    return [
        {
            "heading": "Time to first client notice, by month",
            "svg": bar_chart(
                chart_id="chart-first-notice",
                title="Average minutes from detection to the first client notice, by month",
                description="Lower is better.",
                bars=[
                    Bar(
                        t.label,
                        t.first_notice_minutes,
                        "—" if t.first_notice_minutes is None else f"{t.first_notice_minutes:.0f} min",
                    )
                    for t in overview.by_month
                ],
            ),
        },
        {
            "heading": "Satisfaction (CSAT), by month",
            "svg": bar_chart(
                chart_id="chart-csat-month",
                title="Average satisfaction score (1-5), by month",
                description="Higher is better.",
                minimum=0,
                maximum=5,
                bars=[
                    Bar(
                        t.label,
                        t.scores.csat_average,
                        "—" if t.scores.csat_average is None else f"{t.scores.csat_average:.1f}",
                    )
                    for t in overview.by_month
                ],
            ),
        },
        {
            "heading": "NPS, by playbook kind",
            "svg": bar_chart(
                chart_id="chart-nps-kind",
                title="Net promoter score, by playbook kind",
                description="From -100 to 100; higher is better.",
                minimum=-100,
                maximum=100,
                bars=[
                    Bar(t.label, t.scores.nps, "—" if t.scores.nps is None else f"{t.scores.nps:.0f}")
                    for t in overview.by_kind
                ],
            ),
        },
        {
            "heading": "Reach, by client country",
            "svg": bar_chart(
                chart_id="chart-reach-country",
                title="Share of affected contacts reached, by client country",
                description="Contacts reached by at least one update on any channel.",
                minimum=0,
                maximum=100,
                unit="%",
                bars=[rate_bar(t, t.reach) for t in overview.by_country],
            ),
        },
    ]


@member_view
def leadership_view(request):
    """Across incidents: the same figures by playbook kind, client country and month, with charts."""
    period, since = _since(request)
    overview = leadership_overview(organization=request.user.organization, since=since)
    now = timezone.now()
    open_follow_ups = (
        FollowUp.objects.filter(incident__organization=request.user.organization, closed_at__isnull=True)
        .select_related("incident", "client", "owner")
        .order_by("due_at")
    )
    return render(
        request,
        "playbooks/leadership/overview.html",
        {
            "section": "leadership",
            "overview": overview,
            "period": period,
            "periods": [("3", "3 months"), ("12", "12 months"), ("36", "3 years"), ("all", "All time")],
            "total": _totals_row(overview.total),
            "groups": [
                ("kind", "By playbook kind", "Playbook kind", [_totals_row(t) for t in overview.by_kind]),
                ("country", "By client country", "Client country", [_totals_row(t) for t in overview.by_country]),
                ("month", "By month", "Month", [_totals_row(t) for t in overview.by_month]),
            ],
            "incidents": [
                {
                    "m": m,
                    "first_notice": _minutes_text(m.time_to_first_notice),
                    "resolution": _minutes_text(m.time_to_resolution),
                    "reach": _percent(m.reach),
                    "kept": _percent(m.kept_on_time_share),
                    "response": _percent(m.response_rate),
                    "csat": _average(m.scores.csat_average),
                    "nps": _nps(m.scores.nps),
                    "follow_ups": len(m.open_follow_ups),
                }
                for m in overview.metrics
            ],
            "charts": _overview_charts(overview),
            "follow_ups": _follow_up_rows(request.user, open_follow_ups, now),
        },
    )


@member_view
def leadership_csv(request):
    period, since = _since(request)
    group = request.GET.get("group", "incident")
    if group not in ("incident", "kind", "country", "month"):
        group = "incident"
    overview = leadership_overview(organization=request.user.organization, since=since)
    return _csv_response(f"candor-leadership-{group}-{period}.csv", overview_csv_rows(overview, group=group))


# ---- Follow-ups


def _follow_up_list_context(request, errors=None):
    now = timezone.now()
    base = FollowUp.objects.filter(incident__organization=request.user.organization).select_related(
        "incident", "client", "owner", "closed_by", "response__invitation__contact"
    )
    mine = request.GET.get("mine") == "1"
    if mine:
        base = base.filter(owner=request.user)
    rows = _follow_up_rows(request.user, base.filter(closed_at__isnull=True).order_by("due_at", "id"), now)
    for row in rows:
        row["error"] = (errors or {}).get(row["follow_up"].pk, "")
    return {
        "section": "follow_ups",
        "mine": mine,
        "open": rows,
        "closed": list(base.filter(closed_at__isnull=False).order_by("-closed_at")[:50]),
        "errors": errors or {},
    }


@member_view
def follow_up_list_view(request):
    """Every follow-up of the organisation: open ones first, overdue marked."""
    return render(request, "playbooks/debrief/follow_ups.html", _follow_up_list_context(request))


@member_view
@require_POST
def follow_up_close_view(request, pk):
    follow_up = get_object_or_404(
        FollowUp.objects.select_related("incident"), pk=pk, incident__organization=request.user.organization
    )
    try:
        debriefs.follow_up_close(follow_up=follow_up, actor=request.user, note=request.POST.get("note", ""))
    except ValidationError as error:
        context = _follow_up_list_context(request, errors={follow_up.pk: " ".join(error.messages)})
        return render(request, "playbooks/debrief/follow_ups.html", context, status=400)
    messages.success(request, f"Follow-up with {follow_up.client.name} closed.")
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("follow_up_list")
