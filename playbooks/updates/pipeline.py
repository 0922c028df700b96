"""The one message pipeline: "these contacts, these words per language, this source" -> queued messages.

Every message a client receives about an incident (status updates, holding statements, survey
invitations and reminders, acknowledgement chases) is built here, and nowhere else:
  1. each reader's language: theirs, their client's, the playbook's, then English, then any;
  2. the words rendered once per (language, timezone, group), per-reader values left as tokens;
  3. the reader's own values: name, client, status link, survey link, preferences link;
  4. SMS sized with the real values (refused or left out beyond MAX_SMS_SEGMENTS);
  5. the fallback email an undelivered SMS turns into;
  6. one call to comms, under the incident's topic.
comms then claims, sends, records the providers' reports and hands replies back up.
"""

import re
from collections import Counter
from dataclasses import dataclass, field

from comms.links import preferences_url
from comms.rendering import MAX_SMS_SEGMENTS, apply_substitutions, choose_language, format_local_time, sms_size
from comms.services import ContentSpec, RecipientSpec, messages_queue
from playbooks.incidents.links import status_url, survey_url
from playbooks.incidents.topics import incident_topic
from playbooks.models import MESSAGE_VARIABLES  # noqa: F401  (the variables live beside StageMessage, which checks them)
from playbooks.updates.wording import stage_words

# Values that differ per reader travel as tokens, filled in at send time (a rendered text serves
# a whole group; that is how SendGrid batches 1,000 readers in one request).
READER_TOKENS = {
    "contact_name": "-contact_name-",
    "client_name": "-client_name-",
    "status_url": "-status_url-",
    "survey_url": "-survey_url-",
    "preferences_url": "-preferences_url-",
}
# Lengths assumed for per-reader values when a length must be known before the readers are (the
# SMS preview); real messages are measured with their real values.
TYPICAL_VALUE_LENGTHS = {
    "contact_name": 20,
    "client_name": 25,
    "status_url": 90,
    "survey_url": 90,
    "preferences_url": 90,
}


def message_context(*, organization_name, title, summary, stage, language, timezone_name, next_update_due_at):
    """The variables of a message template (MESSAGE_VARIABLES) for one language and
    timezone; per-recipient values stay substitution tokens."""
    return {
        "organization_name": organization_name,
        "incident_title": title,
        "incident_summary": summary,
        "stage": stage_words(stage, language),
        "next_update_at": format_local_time(next_update_due_at, language=language, timezone_name=timezone_name),
        **{name: token for name, token in READER_TOKENS.items() if name != "survey_url"},
    }


# What addresses one reader: the greeting ({{ contact_name }}) and their own links. The status page,
# read by every reader of the incident, shows an update's words without them.
READER_LINKS = ("status_url", "preferences_url", "survey_url")
_VARIABLE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
_GREETING_END = re.compile(r"^[^,:、，。\n]{0,40}?[,:、，。]\s*")
_HONORIFIC_ONLY = 4  # "様", " san": what is left of a greeting line without punctuation


def _without_greeting(line):
    match = re.search(r"\{\{\s*contact_name\s*\}\}", line)
    if not match:
        return line
    rest = line[match.end() :]
    if match.start() > 40:
        return line  # the name inside a sentence, not a greeting: the page fills it per reader
    end = _GREETING_END.match(rest)
    if end:
        return rest[end.end() :]
    return "" if len(rest.strip()) <= _HONORIFIC_ONLY else line


def _without_links(line):
    for name in READER_LINKS:
        # The link and its label ("Status page: {{ status_url }}"), back to the end of the sentence before.
        line = re.sub(r"[^.!?。\n]*\{\{\s*" + name + r"\s*\}\}", "", line)
    return line


def page_text(template_text):
    """An update's words as its status page shows them, from a message template written for one
    reader: without the greeting ("Hello {{ contact_name }},"), without the reader's own links
    (status page, preferences) and their labels, and without lines holding nothing but variables
    (an address line; the incident summary, which the page shows once at its top)."""
    kept = []
    for line in (template_text or "").splitlines():
        text = _without_links(_without_greeting(line))
        if line.strip() and not text.strip():
            continue  # a line that was only a greeting or a link
        if _VARIABLE.search(text) and not _VARIABLE.sub("", text).strip(" \t:,.-"):
            continue
        kept.append(text.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def typical_reader_values():
    return {token: "x" * TYPICAL_VALUE_LENGTHS[name] for name, token in READER_TOKENS.items()}


def reader_values(*, incident, contact):
    """The reader's own values, keyed by token."""
    return {
        READER_TOKENS["contact_name"]: contact.name,
        READER_TOKENS["client_name"]: contact.client.name,
        READER_TOKENS["status_url"]: status_url(incident.pk, contact.pk),
        READER_TOKENS["survey_url"]: survey_url(incident.pk, contact.pk),
        READER_TOKENS["preferences_url"]: preferences_url(contact.pk),
    }


def reader_language(*, incident, contact, available):
    """The language a reader gets among those `available`: theirs, their client's, the playbook's,
    then English, then any."""
    return choose_language(
        [contact.language, contact.client.default_language, incident.plan.get("default_language")], available
    )


@dataclass(frozen=True)
class Words:
    """One group's rendered words; per-reader values still tokens. An empty text is not sent."""

    email_subject: str = ""
    email_body: str = ""
    sms_body: str = ""


@dataclass
class Batch:
    """What the pipeline built for comms, and what it noticed on the way."""

    contents: dict = field(default_factory=dict)  # content key -> ContentSpec
    recipients: list = field(default_factory=list)  # RecipientSpec
    languages: dict = field(default_factory=dict)  # contact id -> language
    channels: dict = field(default_factory=dict)  # contact id -> [channels queued]
    too_long: dict = field(default_factory=dict)  # language -> (units, encoding) of the longest SMS left out
    groups: dict = field(default_factory=dict)  # content key -> (language, timezone, group) it was rendered for

    def count(self, channel):
        return sum(1 for recipient in self.recipients if recipient.channel == channel)

    def language_counts(self):
        return dict(Counter(spec.language for spec in self.contents.values() if spec.channel != "fallback"))


def batch_build(
    *,
    incident,
    audience,
    available_languages,
    words_for,
    group_of=None,
    sms_fallback_to_email=False,
):
    """Build the messages of `audience` (an updates.audience.Audience).

    `words_for(language, timezone_name, group)` returns the Words of a group and is called once per
    (language, timezone, group); `group_of(contact)` splits readers whose words differ beyond their
    language and timezone (default: one group). `available_languages` may be a callable of the
    group. An SMS over MAX_SMS_SEGMENTS once filled in is left out and reported in `too_long`.
    """
    batch = Batch()
    rendered = {}

    def prepare(contact):
        group = group_of(contact) if group_of else None
        languages = available_languages(group) if callable(available_languages) else available_languages
        language = reader_language(incident=incident, contact=contact, available=languages)
        if language is None:
            return None
        timezone_name = contact.effective_timezone
        key = (language, timezone_name, group)
        if key not in rendered:
            rendered[key] = words_for(language, timezone_name, group)
        return key, rendered[key]

    def content_key(channel, key):
        language, timezone_name, group = key
        return f"{channel}:{language}:{timezone_name}:{group or ''}"

    def add(contact, key, channel, recipient):
        batch.groups.setdefault(recipient.content_key, key)
        batch.recipients.append(recipient)
        batch.languages[contact.pk] = key[0]
        batch.channels.setdefault(contact.pk, []).append(channel)

    values = {}
    for contact in audience.email:
        prepared = prepare(contact)
        if prepared is None or not prepared[1].email_body:
            continue
        key, words = prepared
        ckey = content_key("email", key)
        batch.contents.setdefault(ckey, ContentSpec("email", key[0], words.email_subject, words.email_body))
        values[contact.pk] = reader_values(incident=incident, contact=contact)
        add(contact, key, "email", RecipientSpec(contact, "email", ckey, values[contact.pk]))
    for contact in audience.sms:
        prepared = prepare(contact)
        if prepared is None or not prepared[1].sms_body:
            continue
        key, words = prepared
        language = key[0]
        ckey = content_key("sms", key)
        batch.contents.setdefault(ckey, ContentSpec("sms", language, "", words.sms_body))
        substitutions = values.get(contact.pk) or reader_values(incident=incident, contact=contact)
        size = sms_size(apply_substitutions(words.sms_body, substitutions))
        if size.segments > MAX_SMS_SEGMENTS:
            batch.too_long[language] = max(batch.too_long.get(language, (0, "")), (size.units, size.encoding))
            continue
        fallback_key = ""
        if sms_fallback_to_email and contact.can_receive_email:
            # An SMS that cannot be delivered becomes an email: the email words, else the SMS words.
            fallback_key = content_key("email" if words.email_body else "email-from-sms", key)
            batch.contents.setdefault(
                fallback_key,
                ContentSpec(
                    "email",
                    language,
                    words.email_subject or f"{incident.organization.name}: {incident.title}",
                    words.email_body or words.sms_body,
                ),
            )
        add(
            contact,
            key,
            "sms",
            RecipientSpec(
                contact, "sms", ckey, substitutions, segments=size.segments, fallback_content_key=fallback_key
            ),
        )
    return batch


def batch_queue(*, incident, source, batch, expects_link=None):
    """Hand the batch to comms under the incident's topic, after the preflight has read every
    variant (playbooks.updates.preflight; a blocking finding raises PreflightRefused and queues
    nothing). `expects_link` names the READER_TOKENS link every message must carry. Idempotent per
    source. Returns the number of messages created now."""
    from playbooks.updates.preflight import batch_findings, refuse_if_blocked  # the preflight reads batches

    if not batch.recipients:
        return 0
    refuse_if_blocked(batch_findings(batch=batch, expects_link=expects_link))
    return messages_queue(
        organization=incident.organization,
        topic=incident_topic(incident),
        source=source,
        contents=batch.contents,
        recipients=batch.recipients,
    )
