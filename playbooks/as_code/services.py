"""Export a playbook as YAML, and import one: every problem found first and reported with its path
in the file (`stages[2].messages.de.sms`), nothing changed on any error, nothing changed (and the
version kept) when the file says what the playbook already says."""

import difflib
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import LANGUAGE_CODES
from comms.rendering import (
    MAX_SMS_SEGMENTS,
    render_text,
    sms_friendly,
    sms_size,
    template_problems,
)
from playbooks.as_code.format import (
    FORMAT,
    PLAYBOOK_SCHEMA,
    PURPOSE_KEYS,
    DocumentSyntaxError,
    document_from_text,
    document_to_yaml,
    playbook_document,
)
from playbooks.models import (
    KIND_STATES,
    ChecklistItem,
    Kind,
    Playbook,
    PlaybookStage,
    Severity,
    StageAcknowledgement,
    StageMessage,
    State,
    SurveyQuestion,
)
from playbooks.updates.pipeline import MESSAGE_VARIABLES, TYPICAL_VALUE_LENGTHS

# Lengths assumed for the variables when an SMS is measured before any incident exists.
SMS_SAMPLE_LENGTHS = {
    **TYPICAL_VALUE_LENGTHS,
    "organization_name": 25,
    "incident_title": 50,
    "incident_summary": 0,
    "stage": 30,
    "next_update_at": 25,
}
STAGES_WITHOUT_WORDS = {State.DRAFT, State.CLOSED, State.CANCELLED}
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self):
        return f"{self.path or '(file)'}: {self.message}"


class PlaybookImportError(Exception):
    """The file has problems; nothing was changed. `problems` lists every one with its path."""

    def __init__(self, problems):
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = list(problems)


@dataclass
class ImportResult:
    slug: str
    playbook: Playbook | None
    created: bool
    changed: bool
    dry_run: bool
    diff: str = ""
    problems: list = field(default_factory=list)

    @property
    def version(self):
        return self.playbook.version if self.playbook is not None else None


def playbook_export(*, playbook):
    """The playbook as a YAML text in format candor-playbook/1."""
    return document_to_yaml(playbook_document(playbook))


# ---------------------------------------------------------------------------------------------
# Checking a document


class _Checker:
    def __init__(self):
        self.problems = []

    def add(self, path, message):
        self.problems.append(Problem(path, message))

    def mapping(self, value, path, *, required=(), allowed=None):
        if not isinstance(value, dict):
            self.add(path, "Expected a mapping (key: value lines).")
            return False
        for key in required:
            if key not in value:
                self.add(f"{path}.{key}" if path else key, "Required.")
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    self.add(f"{path}.{key}" if path else str(key), f"Unknown key; use {', '.join(allowed)}.")
        return True

    def of_type(self, value, path, kind, words):
        if value is not None and not (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
            self.add(path, f"Expected {words}.")
            return False
        return value is not None

    def words_list(self, value, path):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.add(path, "Expected a list of words.")
            return False
        return True

    def language(self, code, path):
        if code not in LANGUAGE_CODES:
            self.add(path, f"Unknown language {code!r}; use one of {', '.join(sorted(LANGUAGE_CODES))}.")
            return False
        return True

    def template(self, text, path, *, sms=False):
        if not isinstance(text, str) or not text.strip():
            self.add(path, "Write the words; this is empty.")
            return
        problems = template_problems(text, allowed=MESSAGE_VARIABLES)
        for problem in problems:
            self.add(path, problem)
        if problems:
            return
        if sms:
            sample = {name: "x" * SMS_SAMPLE_LENGTHS.get(name, 20) for name in MESSAGE_VARIABLES}
            size = sms_size(sms_friendly(render_text(text, sample)))
            if size.segments > MAX_SMS_SEGMENTS:
                self.add(
                    path,
                    f"The SMS is {size.units} {size.encoding} characters with typical values, {size.segments} "
                    f"segments; the limit is {MAX_SMS_SEGMENTS}. Shorten it.",
                )


def _model_errors(checker, path, error):
    for field_name, messages in error.message_dict.items() if hasattr(error, "error_dict") else [("", error.messages)]:
        where = path if field_name in ("", "__all__") else f"{path}.{field_name}"
        for message in messages:
            checker.add(where, message)


def _check_words(checker, words, path, kind_words="messages"):
    if not checker.mapping(words, path):
        return
    for language, by_channel in words.items():
        where = f"{path}.{language}"
        if not checker.language(language, where):
            continue
        if not checker.mapping(by_channel, where, allowed=("email", "sms")):
            continue
        if not by_channel:
            checker.add(where, "Give the email, the sms, or both.")
        email = by_channel.get("email")
        if email is not None and checker.mapping(
            email, f"{where}.email", required=("subject", "body"), allowed=("subject", "body")
        ):
            subject = email.get("subject")
            if isinstance(subject, str) and len(subject) > 200:
                checker.add(f"{where}.email.subject", "At most 200 characters.")
            if "subject" in email:
                checker.template(subject, f"{where}.email.subject")
            if "body" in email:
                checker.template(email.get("body"), f"{where}.email.body")
        if "sms" in by_channel:
            checker.template(by_channel["sms"], f"{where}.sms", sms=True)


def _check_stage(checker, stage, path, kind):
    allowed = (
        "stage",
        "cadence_minutes",
        "needs_approval",
        "auto_holding_statement",
        "messages",
        "holding_statement",
        "acknowledgement",
    )
    if not checker.mapping(stage, path, required=("stage",), allowed=allowed):
        return None
    name = stage.get("stage")
    states = [state for state in KIND_STATES.get(kind, []) if state not in STAGES_WITHOUT_WORDS]
    if kind in KIND_STATES and name not in states:
        checker.add(f"{path}.stage", f"{name!r} is not a stage of a {kind} playbook: use one of {', '.join(states)}.")
    cadence = stage.get("cadence_minutes", 60)
    if checker.of_type(cadence, f"{path}.cadence_minutes", int, "a whole number of minutes") and cadence < 5:
        checker.add(f"{path}.cadence_minutes", "At least 5 minutes.")
    for flag in ("needs_approval", "auto_holding_statement"):
        checker.of_type(stage.get(flag), f"{path}.{flag}", bool, "true or false")
    for key in PURPOSE_KEYS.values():
        if key in stage:
            _check_words(checker, stage[key], f"{path}.{key}")
    if stage.get("auto_holding_statement") and not stage.get("holding_statement"):
        checker.add(f"{path}.holding_statement", "auto_holding_statement is on: write the holding statement.")
    acknowledgement = stage.get("acknowledgement")
    if acknowledgement is not None and checker.mapping(
        acknowledgement, f"{path}.acknowledgement", required=("texts",), allowed=("chase_after_minutes", "texts")
    ):
        chase = acknowledgement.get("chase_after_minutes", 240)
        where = f"{path}.acknowledgement.chase_after_minutes"
        if checker.of_type(chase, where, int, "a whole number of minutes") and chase < 5:
            checker.add(where, "At least 5 minutes.")
        try:
            StageAcknowledgement(texts=acknowledgement.get("texts"), chase_after_minutes=5).clean()
        except ValidationError as error:
            _model_errors(checker, f"{path}.acknowledgement", error)
    return name


def check_document(document):
    """Every problem of a document, each with its path; [] when it can be imported."""
    checker = _Checker()
    allowed = tuple(PLAYBOOK_SCHEMA["properties"])
    if not checker.mapping(document, "", required=("format", "slug", "kind", "name", "stages"), allowed=allowed):
        return checker.problems
    if "format" in document and document["format"] != FORMAT:
        checker.add("format", f"Unknown format {document['format']!r}; this Candor reads {FORMAT}.")
    slug = document.get("slug")
    if "slug" in document and not (isinstance(slug, str) and SLUG.match(slug)):
        checker.add("slug", "Letters, digits, hyphens and underscores, at most 50.")
    kind = document.get("kind")
    if "kind" in document and kind not in Kind.values:
        checker.add("kind", f"Use one of {', '.join(Kind.values)}.")
    name = document.get("name")
    if "name" in document and not (isinstance(name, str) and name.strip() and len(name) <= 200):
        checker.add("name", "Give the playbook a name (at most 200 characters).")
    checker.of_type(document.get("description"), "description", str, "text")
    for flag in ("is_active", "requires_authority_notification"):
        checker.of_type(document.get(flag), flag, bool, "true or false")
    severity = document.get("default_severity")
    if severity is not None and severity not in Severity.values:
        checker.add("default_severity", "1 (critical) to 4 (low).")
    if "default_language" in document:
        checker.language(document["default_language"], "default_language")
    audience = document.get("audience")
    if audience is not None and checker.mapping(audience, "audience", allowed=("all_clients", "tags", "countries")):
        checker.of_type(audience.get("all_clients"), "audience.all_clients", bool, "true or false")
        for key in ("tags", "countries"):
            if key in audience and checker.words_list(audience[key], f"audience.{key}") and key == "countries":
                for index, country in enumerate(audience[key]):
                    if not re.fullmatch(r"[A-Z]{2}", country):
                        checker.add(f"audience.countries[{index}]", "A two-letter country code in capitals, e.g. DE.")
    rules = document.get("content_rules")
    if rules is not None and checker.mapping(rules, "content_rules", allowed=("required_phrases", "banned_words")):
        if "banned_words" in rules:
            checker.words_list(rules["banned_words"], "content_rules.banned_words")
        phrases = rules.get("required_phrases", [])
        if not isinstance(phrases, list):
            checker.add("content_rules.required_phrases", "Expected a list.")
        else:
            for index, phrase in enumerate(phrases):
                where = f"content_rules.required_phrases[{index}]"
                if isinstance(phrase, dict):
                    for language, words in phrase.items():
                        if checker.language(language, f"{where}.{language}"):
                            checker.of_type(words, f"{where}.{language}", str, "text")
                elif not isinstance(phrase, str):
                    checker.add(where, "A phrase, or a phrase per language.")
    stages = document.get("stages")
    if "stages" in document and not isinstance(stages, list):
        checker.add("stages", "Expected a list of stages.")
    elif isinstance(stages, list):
        seen = {}
        for index, stage in enumerate(stages):
            name = _check_stage(checker, stage, f"stages[{index}]", kind)
            if isinstance(name, str):
                if name in seen:
                    checker.add(f"stages[{index}].stage", f"{name!r} is already stages[{seen[name]}].")
                seen.setdefault(name, index)
    checklist = document.get("checklist", [])
    if not isinstance(checklist, list):
        checker.add("checklist", "Expected a list of tasks.")
    else:
        for index, item in enumerate(checklist):
            path = f"checklist[{index}]"
            allowed = (
                "title",
                "description",
                "due_after_hours",
                "due_after_business_days",
                "business_calendar",
                "guidance",
            )
            if not checker.mapping(item, path, required=("title",), allowed=allowed):
                continue
            title = item.get("title")
            if "title" in item and not (isinstance(title, str) and title.strip() and len(title) <= 300):
                checker.add(f"{path}.title", "Say what is to be done (at most 300 characters).")
            checker.of_type(item.get("description"), f"{path}.description", str, "text")
            guidance = item.get("guidance")
            if checker.of_type(guidance, f"{path}.guidance", str, "text") and len(guidance) > 300:
                checker.add(f"{path}.guidance", "At most 300 characters.")
            for key in ("due_after_hours", "due_after_business_days"):
                value = item.get(key)
                if checker.of_type(value, f"{path}.{key}", int, "a whole number") and value < 0:
                    checker.add(f"{path}.{key}", "Cannot be negative.")
            if item.get("due_after_hours") is not None and item.get("due_after_business_days") is not None:
                checker.add(path, "Give the deadline in hours or in business days, not both.")
            calendar = item.get("business_calendar")
            if checker.of_type(calendar, f"{path}.business_calendar", str, "text") and not re.fullmatch(
                r"[A-Z]{2}", calendar
            ):
                checker.add(f"{path}.business_calendar", "A two-letter country code in capitals, e.g. US.")
    questions = document.get("survey_questions", [])
    if not isinstance(questions, list):
        checker.add("survey_questions", "Expected a list of questions.")
    else:
        for index, question in enumerate(questions):
            path = f"survey_questions[{index}]"
            if not checker.mapping(question, path, required=("texts",), allowed=("kind", "texts", "is_active")):
                continue
            if question.get("kind", "scale") not in ("scale", "text"):
                checker.add(f"{path}.kind", "scale or text.")
            checker.of_type(question.get("is_active"), f"{path}.is_active", bool, "true or false")
            try:
                SurveyQuestion(texts=question.get("texts")).clean()
            except ValidationError as error:
                _model_errors(checker, path, error)
    return checker.problems


# ---------------------------------------------------------------------------------------------
# Importing


def _normalized(document):
    """The document as the export would write it once imported (defaults filled in), so that
    comparing two exports says whether anything would change."""
    audience = document.get("audience") or {}
    rules = document.get("content_rules") or {}
    stages = []
    for stage in document["stages"]:
        entry = {
            "stage": stage["stage"],
            "cadence_minutes": stage.get("cadence_minutes", 60),
            "needs_approval": stage.get("needs_approval", False),
            "auto_holding_statement": stage.get("auto_holding_statement", False),
            "messages": _normalized_words(stage.get("messages") or {}),
        }
        if stage.get("holding_statement"):
            entry["holding_statement"] = _normalized_words(stage["holding_statement"])
        if stage.get("acknowledgement"):
            acknowledgement = StageAcknowledgement(texts=stage["acknowledgement"]["texts"])
            acknowledgement.clean()  # trims and upper-cases the keywords, as saving would
            entry["acknowledgement"] = {
                "chase_after_minutes": stage["acknowledgement"].get("chase_after_minutes", 240),
                "texts": acknowledgement.texts,
            }
        stages.append(entry)
    checklist = []
    for item in document.get("checklist") or []:
        entry = {"title": item["title"], "description": item.get("description") or ""}
        for key in ("due_after_hours", "due_after_business_days"):
            if item.get(key) is not None:
                entry[key] = item[key]
        if item.get("business_calendar"):
            entry["business_calendar"] = item["business_calendar"]
        entry["guidance"] = item.get("guidance") or ""
        checklist.append(entry)
    normalized = {
        "format": FORMAT,
        "slug": document["slug"],
        "kind": document["kind"],
        "name": document["name"],
        "description": document.get("description") or "",
        "is_active": document.get("is_active", True),
        "default_severity": document.get("default_severity", Severity.MAJOR),
        "default_language": document.get("default_language", "en"),
        "requires_authority_notification": document.get("requires_authority_notification", True),
        "audience": {
            "all_clients": audience.get("all_clients", False),
            "tags": list(audience.get("tags") or []),
            "countries": list(audience.get("countries") or []),
        },
        "content_rules": {
            "required_phrases": list(rules.get("required_phrases") or []),
            "banned_words": list(rules.get("banned_words") or []),
        },
        "stages": stages,
        "checklist": checklist,
    }
    questions = []
    for question in document.get("survey_questions") or []:
        model = SurveyQuestion(texts=question["texts"])
        model.clean()
        questions.append(
            {"kind": question.get("kind", "scale"), "texts": model.texts, "is_active": question.get("is_active", True)}
        )
    if questions:
        normalized["survey_questions"] = questions
    return normalized


def _normalized_words(words):
    return {
        language: {
            channel: ({"subject": value["subject"], "body": value["body"]} if channel == "email" else value)
            for channel, value in sorted(by_channel.items())
        }
        for language, by_channel in words.items()
    }


def playbook_import(*, organization, text, dry_run=False, filename="playbook.yaml"):
    """Create or update the organisation's playbook with the document's slug.

    Checks everything first: with any problem, raises PlaybookImportError listing every one with
    its path, and changes nothing. A file that says what the playbook already says changes nothing
    and keeps its version; otherwise the playbook is replaced in one transaction and its version
    goes up by one. A dry run changes nothing and returns the diff of the export.
    """
    try:
        document = document_from_text(text)
    except DocumentSyntaxError as error:
        raise PlaybookImportError([Problem("", str(error))]) from None
    problems = check_document(document)
    if problems:
        raise PlaybookImportError(problems)
    normalized = _normalized(document)
    new_text = document_to_yaml(normalized)
    existing = Playbook.objects.filter(organization=organization, slug=normalized["slug"]).first()
    if existing is not None and existing.kind != normalized["kind"]:
        raise PlaybookImportError(
            [Problem("kind", f"The playbook {existing.slug!r} is a {existing.kind} playbook; its kind cannot change.")]
        )
    old_text = playbook_export(playbook=existing) if existing is not None else ""
    changed = old_text != new_text
    diff = "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"{normalized['slug']} v{existing.version}" if existing else "/dev/null",
            tofile=filename,
        )
    )
    result = ImportResult(
        slug=normalized["slug"],
        playbook=existing,
        created=existing is None,
        changed=changed,
        dry_run=dry_run,
        diff=diff,
    )
    if dry_run or not changed:
        return result
    result.playbook = _write(organization, existing, normalized)
    return result


@transaction.atomic
def _write(organization, existing, document):
    fields = {
        "kind": document["kind"],
        "name": document["name"],
        "description": document["description"],
        "is_active": document["is_active"],
        "default_severity": document["default_severity"],
        "default_language": document["default_language"],
        "requires_authority_notification": document["requires_authority_notification"],
        "audience_all_clients": document["audience"]["all_clients"],
        "audience_tags": document["audience"]["tags"],
        "audience_countries": document["audience"]["countries"],
        "content_rules": document["content_rules"],
    }
    if existing is None:
        playbook = Playbook(organization=organization, slug=document["slug"], **fields)
        playbook.full_clean()
        playbook.save()  # a new playbook is version 1
    else:
        playbook = Playbook.objects.select_for_update().get(pk=existing.pk)
        for name, value in fields.items():
            setattr(playbook, name, value)
        playbook.full_clean()
        # Row-level saves each bump the version; one import is one new version.
        Playbook.objects.filter(pk=playbook.pk).update(
            **fields, version=playbook.version + 1, updated_at=timezone.now()
        )
        playbook.stages.all().delete()
        playbook.checklist_items.all().delete()
    # bulk_create skips the per-row version bumps.
    for stage_spec in document["stages"]:
        stage = PlaybookStage(
            playbook=playbook,
            stage=stage_spec["stage"],
            cadence_minutes=stage_spec["cadence_minutes"],
            needs_approval=stage_spec["needs_approval"],
            auto_holding_statement=stage_spec["auto_holding_statement"],
        )
        PlaybookStage.objects.bulk_create([stage])
        messages = []
        for purpose, key in PURPOSE_KEYS.items():
            for language, by_channel in (stage_spec.get(key) or {}).items():
                for channel, value in by_channel.items():
                    subject, body = (value["subject"], value["body"]) if channel == "email" else ("", value)
                    messages.append(
                        StageMessage(
                            stage=stage, purpose=purpose, language=language, channel=channel, subject=subject, body=body
                        )
                    )
        StageMessage.objects.bulk_create(messages)
        if stage_spec.get("acknowledgement"):
            StageAcknowledgement.objects.bulk_create(
                [
                    StageAcknowledgement(
                        stage=stage,
                        texts=stage_spec["acknowledgement"]["texts"],
                        chase_after_minutes=stage_spec["acknowledgement"]["chase_after_minutes"],
                    )
                ]
            )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            playbook=playbook,
            position=position,
            title=item["title"],
            description=item["description"],
            due_after_hours=item.get("due_after_hours"),
            due_after_business_days=item.get("due_after_business_days"),
            business_calendar=item.get("business_calendar", ""),
            guidance=item["guidance"],
        )
        for position, item in enumerate(document["checklist"])
    )
    _write_questions(playbook, document.get("survey_questions") or [])
    return Playbook.objects.get(pk=playbook.pk)


def _write_questions(playbook, questions):
    # Kept in place by position: a running survey's answers name their question by id.
    current = list(playbook.survey_questions.order_by("position", "id"))
    for position, spec in enumerate(questions):
        if position < len(current):
            question = current[position]
            question.kind, question.texts, question.is_active = spec["kind"], spec["texts"], spec["is_active"]
            question.position = position
            question.save()
        else:
            SurveyQuestion.objects.create(
                playbook=playbook,
                position=position,
                kind=spec["kind"],
                texts=spec["texts"],
                is_active=spec["is_active"],
            )
    for question in current[len(questions) :]:
        question.delete()
