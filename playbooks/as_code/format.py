"""The playbook document (format version 1): from the database to a plain dict, to and from YAML,
and its JSON Schema. docs/playbooks-as-code.md explains it for authors; docs/playbook.schema.json is
PLAYBOOK_SCHEMA, published for editors.

A document, in the order the export writes it:

    format: candor-playbook/1
    slug, kind, name, description, is_active, default_severity, default_language,
    requires_authority_notification,
    audience: {all_clients, tags, countries}
    content_rules: {required_phrases, banned_words}
    stages: [{stage, cadence_minutes, needs_approval, auto_holding_statement,
              messages: {language: {email: {subject, body}, sms: body}},
              holding_statement: {language: {...}},          (optional)
              acknowledgement: {chase_after_minutes, texts}}] (optional)
    checklist: [{title, description, due_after_hours | due_after_business_days, business_calendar, guidance}]
    survey_questions: [{kind, texts: {language: question}, is_active}]
"""

import yaml

from playbooks.models import Kind, MessagePurpose, Severity

FORMAT = "candor-playbook/1"

# Purpose of a stage message -> the stage's key for it in the document.
PURPOSE_KEYS = {MessagePurpose.UPDATE: "messages", MessagePurpose.HOLDING: "holding_statement"}


def _sorted_mapping(value):
    """A JSON mapping with its keys in order, at every level, so a file is the same whatever
    database stored it."""
    if isinstance(value, dict):
        return {key: _sorted_mapping(value[key]) for key in sorted(value)}
    return value


def _messages(stage, purpose):
    words = {}
    for message in sorted(stage.messages.all(), key=lambda m: m.pk):
        if message.purpose != purpose:
            continue
        by_channel = words.setdefault(message.language, {})
        if message.channel == "email":
            by_channel["email"] = {"subject": message.subject, "body": message.body}
        else:
            by_channel[message.channel] = message.body
    # Email before SMS in each language, whatever order the rows were written in.
    return {language: dict(sorted(by_channel.items())) for language, by_channel in words.items()}


def playbook_document(playbook):
    """The playbook as a plain dict in format version 1 (what the export writes as YAML)."""
    stages = []
    for stage in playbook.stages.prefetch_related("messages").select_related("acknowledgement").order_by("id"):
        entry = {
            "stage": stage.stage,
            "cadence_minutes": stage.cadence_minutes,
            "needs_approval": stage.needs_approval,
            "auto_holding_statement": stage.auto_holding_statement,
            "messages": _messages(stage, MessagePurpose.UPDATE),
        }
        holding = _messages(stage, MessagePurpose.HOLDING)
        if holding:
            entry["holding_statement"] = holding
        acknowledgement = getattr(stage, "acknowledgement", None)
        if acknowledgement is not None:
            entry["acknowledgement"] = {
                "chase_after_minutes": acknowledgement.chase_after_minutes,
                # Sorted: PostgreSQL's jsonb does not keep the order the keys were written in.
                "texts": _sorted_mapping(acknowledgement.texts),
            }
        stages.append(entry)
    checklist = []
    for item in playbook.checklist_items.all():
        entry = {"title": item.title, "description": item.description}
        if item.due_after_hours is not None:
            entry["due_after_hours"] = item.due_after_hours
        if item.due_after_business_days is not None:
            entry["due_after_business_days"] = item.due_after_business_days
        if item.business_calendar:
            entry["business_calendar"] = item.business_calendar
        entry["guidance"] = item.guidance
        checklist.append(entry)
    rules = playbook.content_rules or {}
    document = {
        "format": FORMAT,
        "slug": playbook.slug,
        "kind": playbook.kind,
        "name": playbook.name,
        "description": playbook.description,
        "is_active": playbook.is_active,
        "default_severity": playbook.default_severity,
        "default_language": playbook.default_language,
        "requires_authority_notification": playbook.requires_authority_notification,
        "audience": {
            "all_clients": playbook.audience_all_clients,
            "tags": list(playbook.audience_tags or []),
            "countries": list(playbook.audience_countries or []),
        },
        "content_rules": {
            "required_phrases": list(rules.get("required_phrases") or []),
            "banned_words": list(rules.get("banned_words") or []),
        },
        "stages": stages,
        "checklist": checklist,
    }
    questions = [
        {"kind": question.kind, "texts": _sorted_mapping(question.texts), "is_active": question.is_active}
        for question in playbook.survey_questions.order_by("position", "id")
    ]
    if questions:
        document["survey_questions"] = questions
    return document


def document_from_starter_json(spec):
    """A starter playbook written in the older JSON shape (messages by purpose, then language,
    then channel) as a format-1 document."""
    stages = []
    for stage in spec.get("stages", []):
        entry = {key: stage[key] for key in ("stage", "cadence_minutes") if key in stage}
        entry["needs_approval"] = stage.get("needs_approval", False)
        entry["auto_holding_statement"] = stage.get("auto_holding_statement", False)
        for purpose, key in PURPOSE_KEYS.items():
            by_language = (stage.get("messages") or {}).get(purpose)
            if by_language is None:
                continue
            entry[key] = {
                language: {
                    channel: (
                        {"subject": content.get("subject", ""), "body": content.get("body", "")}
                        if channel == "email"
                        else content.get("body", "")
                    )
                    for channel, content in sorted(by_channel.items())
                }
                for language, by_channel in by_language.items()
            }
        entry.setdefault("messages", {})
        if stage.get("acknowledgement"):
            entry["acknowledgement"] = {
                "chase_after_minutes": stage["acknowledgement"].get("chase_after_minutes", 240),
                "texts": _sorted_mapping(stage["acknowledgement"].get("texts", {})),
            }
        stages.append(entry)
    checklist = []
    for item in spec.get("checklist", []):
        entry = {"title": item.get("title", ""), "description": item.get("description", "")}
        for key in ("due_after_hours", "due_after_business_days"):
            if item.get(key) is not None:
                entry[key] = item[key]
        if item.get("business_calendar"):
            entry["business_calendar"] = item["business_calendar"]
        entry["guidance"] = item.get("guidance", "")
        checklist.append(entry)
    rules = spec.get("content_rules") or {}
    document = {
        "format": FORMAT,
        "slug": spec.get("slug"),
        "kind": spec.get("kind"),
        "name": spec.get("name"),
        "description": spec.get("description", ""),
        "is_active": spec.get("is_active", True),
        "default_severity": spec.get("default_severity", 2),
        "default_language": spec.get("default_language", "en"),
        "requires_authority_notification": spec.get("requires_authority_notification", True),
        "audience": {
            "all_clients": spec.get("audience_all_clients", False),
            "tags": spec.get("audience_tags", []),
            "countries": spec.get("audience_countries", []),
        },
        "content_rules": {
            "required_phrases": rules.get("required_phrases", []),
            "banned_words": rules.get("banned_words", []),
        },
        "stages": stages,
        "checklist": checklist,
    }
    if spec.get("survey_questions"):
        document["survey_questions"] = spec["survey_questions"]
    return document


# ---------------------------------------------------------------------------------------------
# YAML


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):
        # Lists indented under their key, as people write them.
        return super().increase_indent(flow, False)


def _text(dumper, value):
    # Multi-line words (email bodies) as literal blocks, readable and diffable line by line.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)

HEADER = (
    "# A Candor playbook (format candor-playbook/1). Edit, then check and load it with\n"
    "#   manage.py playbook_import FILE --dry-run   (shows the diff)   and without --dry-run.\n"
    "# Message variables: {{ organization_name }}, {{ client_name }}, {{ contact_name }}, {{ incident_title }},\n"
    "# {{ incident_summary }}, {{ stage }}, {{ next_update_at }}, {{ status_url }}, {{ preferences_url }}.\n"
    "# Format: docs/playbooks-as-code.md; JSON Schema: docs/playbook.schema.json.\n"
)


def document_to_yaml(document):
    return HEADER + yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)


class DocumentSyntaxError(ValueError):
    """The file is not YAML (or JSON), or not a mapping at the top."""


def document_from_text(text):
    """The document in a YAML (or JSON, a subset of YAML) text."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise DocumentSyntaxError(f"Not valid YAML{where}: {problem}.") from None
    if not isinstance(document, dict):
        raise DocumentSyntaxError("A playbook file is a mapping (slug: ..., kind: ..., stages: ...).")
    if "format" not in document and isinstance(document.get("stages"), list):
        stages = document["stages"]
        if stages and isinstance(stages[0], dict) and "update" in (stages[0].get("messages") or {}):
            return document_from_starter_json(document)  # the older starter JSON shape
    return document


# ---------------------------------------------------------------------------------------------
# JSON Schema (draft 2020-12), published at docs/playbook.schema.json and /api/playbooks/schema.json

_LANGUAGE = {"type": "string", "pattern": "^[a-z]{2}(-[a-z]{2})?$"}
_WORDS = {
    "type": "object",
    "description": "Per language: email (subject and body) and sms (the body), Django template syntax.",
    "propertyNames": _LANGUAGE,
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "email": {
                "type": "object",
                "additionalProperties": False,
                "required": ["subject", "body"],
                "properties": {
                    "subject": {"type": "string", "minLength": 1, "maxLength": 200},
                    "body": {"type": "string", "minLength": 1},
                },
            },
            "sms": {"type": "string", "minLength": 1},
        },
    },
}

PLAYBOOK_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://candor.example/playbook.schema.json",
    "title": "Candor playbook",
    "description": "A crisis-communication playbook, format candor-playbook/1. See docs/playbooks-as-code.md.",
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "slug", "kind", "name", "stages"],
    "properties": {
        "format": {"const": FORMAT},
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "maxLength": 50},
        "kind": {"enum": list(Kind.values)},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string"},
        "is_active": {"type": "boolean"},
        "default_severity": {"enum": list(Severity.values), "description": "1 critical ... 4 low."},
        "default_language": _LANGUAGE,
        "requires_authority_notification": {"type": "boolean"},
        "audience": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "all_clients": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "countries": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{2}$"}},
            },
        },
        "content_rules": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "required_phrases": {
                    "type": "array",
                    "items": {
                        "anyOf": [
                            {"type": "string"},
                            {"type": "object", "propertyNames": _LANGUAGE, "additionalProperties": {"type": "string"}},
                        ]
                    },
                },
                "banned_words": {"type": "array", "items": {"type": "string"}},
            },
        },
        "stages": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["stage"],
                "properties": {
                    "stage": {"type": "string", "description": "A state of the playbook's kind, e.g. investigating."},
                    "cadence_minutes": {"type": "integer", "minimum": 5},
                    "needs_approval": {"type": "boolean"},
                    "auto_holding_statement": {"type": "boolean"},
                    "messages": _WORDS,
                    "holding_statement": _WORDS,
                    "acknowledgement": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["texts"],
                        "properties": {
                            "chase_after_minutes": {"type": "integer", "minimum": 5},
                            "texts": {
                                "type": "object",
                                "propertyNames": _LANGUAGE,
                                "additionalProperties": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["request", "keyword"],
                                    "properties": {"request": {"type": "string"}, "keyword": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
            },
        },
        "checklist": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title"],
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 300},
                    "description": {"type": "string"},
                    "due_after_hours": {"type": "integer", "minimum": 0},
                    "due_after_business_days": {"type": "integer", "minimum": 0},
                    "business_calendar": {
                        "type": "string",
                        "pattern": "^[A-Z]{2}$",
                        "description": "Whose public holidays business days skip (US for US federal deadlines); "
                        "absent: the organisation's country.",
                    },
                    "guidance": {"type": "string", "maxLength": 300, "description": "The rule behind the deadline."},
                },
                "not": {"required": ["due_after_hours", "due_after_business_days"]},
            },
        },
        "survey_questions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["texts"],
                "properties": {
                    "kind": {"enum": ["scale", "text"]},
                    "texts": {"type": "object", "propertyNames": _LANGUAGE, "additionalProperties": {"type": "string"}},
                    "is_active": {"type": "boolean"},
                },
            },
        },
    },
}
