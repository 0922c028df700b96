"""The preflight: before anything is queued, every variant its readers will receive (each language
and channel, filled in with a real reader's values) is read, and a send with a blocking finding is
refused, naming the language, the channel and the problem.

What blocks, for every send through the pipeline (`batch_findings`, run by `batch_queue`):
- a reader's value left unfilled (`-contact_name-` in the text) or template syntax in the text;
- a link pointing at a host other than CANDOR_PUBLIC_URL, or the expected link missing (every
  email and SMS of an update carries the reader's status link; a survey its survey link);
- an SMS over MAX_SMS_SEGMENTS once filled in;
- a promise without a time (below).
What also blocks an update (`update_findings`, run by update_publish, the console and the API):
- nobody to send it to (the audience is empty);
- template syntax errors and variables not in MESSAGE_VARIABLES (named, with the allowed list);
- a variable that renders empty for a real reader (`{{ incident_summary }}` before a summary exists).

A **promise without a time** is either
  (a) a template that uses `{{ next_update_at }}` in an update that promises no next update (a
      final notice without a time set by the commander): it would render as nothing; or
  (b) rendered words where a next-update phrase's time slot is empty: a time preposition of the
      reader's language followed directly by punctuation or the end of the line ("by .",
      "spätestens .", "antes de las .", "até .", "：までに").
Findings that do not block (warnings) are shown beside the blocking ones; other modules add theirs
through `UPDATE_FINDERS`. A finding's words are for the commander, in the active language.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comms.rendering import (
    MAX_SMS_SEGMENTS,
    MessageTemplateError,
    apply_substitutions,
    sms_size,
    template_variables,
    unknown_variable_words,
)
from playbooks.models import MESSAGE_VARIABLES
from playbooks.updates.pipeline import READER_TOKENS, message_context, reader_values

CHANNEL_NAMES = {"email": gettext_lazy("email"), "sms": gettext_lazy("SMS")}
LINK_WORDS = {
    "status_url": gettext_lazy("status link"),
    "survey_url": gettext_lazy("survey link"),
    "preferences_url": gettext_lazy("preferences link"),
}
TEXT_FIELDS = {"email": ("email_subject", "email_body"), "sms": ("sms_body",)}

# (b) above: a time preposition with nothing after it but punctuation or the end of the line.
_END = r"\s*(?:[.,;:!?)]|$)"
EMPTY_TIME_SLOT = {
    "en": re.compile(rf"\b(?:by|before|until|around){_END}", re.IGNORECASE | re.MULTILINE),
    "de": re.compile(rf"\b(?:bis|spätestens|gegen){_END}", re.IGNORECASE | re.MULTILINE),
    "fr": re.compile(rf"\b(?:avant|vers|d'ici){_END}", re.IGNORECASE | re.MULTILINE),
    "es": re.compile(rf"\b(?:antes de las|antes del|a las|hacia las){_END}", re.IGNORECASE | re.MULTILINE),
    "pt-br": re.compile(rf"\b(?:até|às|antes das){_END}", re.IGNORECASE | re.MULTILINE),
    "it": re.compile(rf"\b(?:entro|alle|prima delle){_END}", re.IGNORECASE | re.MULTILINE),
    "nl": re.compile(rf"\b(?:uiterlijk|voor|om){_END}", re.IGNORECASE | re.MULTILINE),
    "ja": re.compile(r"[：:]\s*(?:までに|まで)"),
}
_URL = re.compile(r"https?://[^\s<>\"'）)]+")
_TEMPLATE_LEFTOVER = re.compile(r"\{\{|\}\}|\{%|%\}")


@dataclass(frozen=True)
class Finding:
    """One thing the preflight noticed about one variant (or the whole send)."""

    problem: str  # a short code: unknown_variable, template_syntax, empty_variable, no_time, ...
    message: str
    language: str = ""
    channel: str = ""
    field: str = "texts"  # the API's field error key: texts, audience, next_update_due_at
    is_blocking: bool = True
    text_field: str = ""  # email_subject, email_body or sms_body when the finding is about one of them

    def __str__(self):
        where = " ".join(str(part) for part in (self.language, CHANNEL_NAMES.get(self.channel, self.channel)) if part)
        return _("%(where)s: %(message)s") % {"where": where, "message": self.message} if where else self.message

    def as_validation_error(self):
        """The finding as a ValidationError whose params say which language and text it is about:
        the console puts it next to that field, whatever language its words are in."""
        text_field = self.text_field or {"sms": "sms_body", "email": "email_body"}.get(self.channel, "")
        return ValidationError(
            "%(finding)s",
            code=self.problem,
            params={"finding": str(self), "language": self.language, "text_field": text_field},
        )

    def as_dict(self):
        return {
            "problem": self.problem,
            "message": self.message,
            "language": self.language,
            "channel": self.channel,
            "field": self.field,
            "is_blocking": self.is_blocking,
            "text": str(self),
        }


def blocking(findings):
    return [finding for finding in findings if finding.is_blocking]


def field_errors(findings):
    """The blocking findings as field errors ({"texts": ["de SMS: ..."], "audience": [...]})."""
    errors = {}
    for finding in blocking(findings):
        errors.setdefault(finding.field, []).append(str(finding))
    return errors


class PreflightRefused(ValidationError):
    """A send refused by the preflight; a ValidationError of field errors, with the findings."""

    def __init__(self, findings):
        self.findings = list(findings)
        super().__init__(field_errors(self.findings))


def refuse_if_blocked(findings):
    if blocking(findings):
        raise PreflightRefused(findings)


# ---------------------------------------------------------------------------------------------
# Reading one rendered text


def has_empty_time_slot(text, language):
    """(b) of a promise without a time: "by ." and its equivalents in the reader's language."""
    pattern = EMPTY_TIME_SLOT.get(language) or EMPTY_TIME_SLOT["en"]
    return bool(pattern.search(text or ""))


def _public_origin():
    parts = urlsplit(settings.CANDOR_PUBLIC_URL)
    return parts.scheme, parts.netloc


def foreign_links(text):
    """Links in the text that point anywhere but CANDOR_PUBLIC_URL."""
    origin = _public_origin()
    links = (match.group(0).rstrip(".,;:!?") for match in _URL.finditer(text or ""))
    return [link for link in links if (urlsplit(link).scheme, urlsplit(link).netloc) != origin]


def text_findings(*, text, language, channel, values, expects_link=None):
    """What is wrong with one filled-in text: its reader's `values` (token -> value) are already
    applied; `expects_link` names the READER_TOKENS link it must carry."""
    findings = []

    def add(problem, message, **extra):
        findings.append(Finding(problem, message, language=language, channel=channel, **extra))

    leftovers = sorted(token for token in READER_TOKENS.values() if token in text)
    if leftovers:
        add(
            "empty_variable",
            _("the reader's values %(tokens)s were not filled in.") % {"tokens": ", ".join(leftovers)},
        )
    if _TEMPLATE_LEFTOVER.search(text):
        add("template_syntax", _("template markup (%(markup)s) is left in the words.") % {"markup": "{{ or {%"})
    if expects_link:
        link = values.get(READER_TOKENS[expects_link], "")
        if not link or link not in text:
            add(
                "missing_link",
                _("carries no %(link)s: add %(variable)s (every message must carry it).")
                % {"link": LINK_WORDS[expects_link], "variable": f"{{{{ {expects_link} }}}}"},
            )
    for link in foreign_links(text):
        add(
            "foreign_link",
            _("links to %(link)s, which is not on %(public_url)s.")
            % {"link": link, "public_url": settings.CANDOR_PUBLIC_URL},
        )
    if channel == "sms":
        size = sms_size(text)
        if size.segments > MAX_SMS_SEGMENTS:
            add(
                "sms_too_long",
                _(
                    "the SMS is %(units)s %(encoding)s characters once filled in, %(segments)s segments; at most "
                    "%(limit)s are sent. Shorten it."
                )
                % {
                    "units": size.units,
                    "encoding": size.encoding,
                    "segments": size.segments,
                    "limit": MAX_SMS_SEGMENTS,
                },
            )
    if has_empty_time_slot(text, language):
        add("no_time", _("states a next update without a time (an empty slot like “by .”)."))
    return findings


# ---------------------------------------------------------------------------------------------
# Every send: the pipeline's batch


def batch_findings(*, batch, expects_link=None):
    """Read every variant of a pipeline batch, filled in for the first reader who receives it."""
    findings = []
    first_reader = {}
    for recipient in batch.recipients:
        first_reader.setdefault(recipient.content_key, recipient)
    for content_key, recipient in first_reader.items():
        content = batch.contents[content_key]
        values = recipient.substitutions
        text = apply_substitutions("\n".join(part for part in (content.subject, content.body) if part), values)
        findings += text_findings(
            text=text, language=content.language, channel=content.channel, values=values, expects_link=expects_link
        )
    for language, (units, encoding) in sorted(batch.too_long.items()):
        findings.append(
            Finding(
                "sms_too_long",
                _(
                    "the SMS is %(units)s %(encoding)s characters once filled in, more than %(limit)s segments; shorten it."
                )
                % {"units": units, "encoding": encoding, "limit": MAX_SMS_SEGMENTS},
                language=language,
                channel="sms",
            )
        )
    return findings


# ---------------------------------------------------------------------------------------------
# Updates (and holding statements)


def template_findings(texts):
    """Syntax errors and unknown variables in an update's texts, per language and channel."""
    findings = []
    for language, fields in sorted(texts.items()):
        for channel, names in TEXT_FIELDS.items():
            for name in names:
                where = {"language": language, "channel": channel, "text_field": name}
                try:
                    variables = template_variables(fields.get(name, ""))
                except MessageTemplateError as error:
                    findings.append(Finding("template_syntax", str(error), **where))
                    continue
                findings += [
                    Finding("unknown_variable", unknown_variable_words(variable, allowed=MESSAGE_VARIABLES), **where)
                    for variable in variables
                    if variable not in MESSAGE_VARIABLES
                ]
    return findings


def _used_variables(fields, channel):
    names = []
    for name in TEXT_FIELDS[channel]:
        try:
            names += template_variables(fields.get(name, ""))
        except Exception:
            return []
    return names


def promise_findings(texts, due_at):
    """(a) of a promise without a time: {{ next_update_at }} in an update that promises none."""
    if due_at is not None:
        return []
    return [
        Finding(
            "no_time",
            _(
                "mentions the next update (%(variable)s) but this update promises none: set a next-update time, or "
                "say that no further update is planned."
            )
            % {"variable": "{{ next_update_at }}"},
            language=language,
            channel=channel,
        )
        for language, fields in sorted(texts.items())
        for channel in TEXT_FIELDS
        if "next_update_at" in _used_variables(fields, channel)
    ]


def update_findings(*, update, incident, audience, batch, due_at):
    """Everything the preflight finds about an update about to be published to `audience`, whose
    pipeline batch (`batch`, None when its words do not render) promises `due_at`."""
    findings = []
    if not audience.email and not audience.sms:
        findings.append(
            Finding(
                "empty_audience",
                _(
                    "No one will receive this: the incident's scope (affected clients, tags, countries) reaches no "
                    "contact who can be reached. Set the scope first."
                ),
                field="audience",
            )
        )
    findings += template_findings(update.texts)
    findings += promise_findings(update.texts, due_at)
    if batch is not None:
        findings += _empty_variable_findings(update, incident, batch, due_at)
        findings += batch_findings(batch=batch, expects_link="status_url")
    for finder in UPDATE_FINDERS:
        findings += list(finder(update=update, incident=incident, audience=audience, batch=batch, due_at=due_at))
    return _unique(findings)


def _empty_variable_findings(update, incident, batch, due_at):
    """A variable whose value is empty for the first real reader of a variant."""
    findings = []
    seen = set()
    for recipient in batch.recipients:
        content = batch.contents[recipient.content_key]
        language, timezone_name, _group = batch.groups[recipient.content_key]
        if (language, content.channel) in seen or language not in update.texts:
            continue
        seen.add((language, content.channel))
        context = message_context(
            organization_name=incident.organization.name,
            title=incident.title,
            summary=incident.summary,
            stage=update.stage,
            language=language,
            timezone_name=timezone_name,
            next_update_due_at=due_at,
        )
        values = reader_values(incident=incident, contact=recipient.contact)
        for name in _used_variables(update.texts[language], content.channel):
            if name == "next_update_at" or name not in MESSAGE_VARIABLES:
                continue  # told as a promise without a time / an unknown variable
            value = values.get(context[name], context[name])
            if not str(value or "").strip():
                values = {"variable": f"{{{{ {name} }}}}", "contact": recipient.contact.name}
                findings.append(
                    Finding(
                        "empty_variable",
                        _("%(variable)s renders empty for %(contact)s: write the incident summary first.") % values
                        if name == "incident_summary"
                        else _("%(variable)s renders empty for %(contact)s.") % values,
                        language=language,
                        channel=content.channel,
                    )
                )
    return findings


def _unique(findings):
    seen, unique = set(), []
    for finding in findings:
        key = (finding.problem, finding.message, finding.language, finding.channel)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


# Other checks of an update, each `finder(*, update, incident, audience, batch, due_at)` returning
# Findings (usually warnings: is_blocking=False). Append to this list to add one.
UPDATE_FINDERS = []
