"""The client survey page: reached by its signed link, no login and no JavaScript needed; every
answer optional, answered once."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from candor.helpers import private_link_headers
from comms.links import preferences_url
from comms.rendering import format_local_time
from playbooks.models import QuestionKind, SurveyResponse
from playbooks.surveys import services as surveys
from playbooks.surveys.words import SURVEY_PAGE_WORDS

SCORED_QUESTIONS = (
    # (field, words key, low words key, high words key, lowest, highest)
    ("csat", "csat", "csat_low", "csat_high", 1, 5),
    ("kept_informed", "kept_informed", "agree_low", "agree_high", 1, 5),
    ("clarity", "clarity", "clarity_low", "clarity_high", 1, 5),
    ("nps", "nps", "nps_low", "nps_high", 0, 10),
)
COMMENT_MAX_CHARS = 5000


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
    return private_link_headers(render(request, f"playbooks/survey/{template}", context, status=status))


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
                return private_link_headers(response)
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
