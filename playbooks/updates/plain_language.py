"""The plain-language check of an update draft: readability, long sentences, jargon, structure and
the playbook's content rules. It only warns; the commander decides.

Readability uses textstat 0.7.8 with each language's own formula where textstat has one
(Flesch-Kincaid grade for English, Wiener Sachtextformel for German, Fernández-Huerta for Spanish,
Kandel-Moles for French, Gulpease for Italian, Flesch-Douma for Dutch). textstat has none for
Portuguese or Japanese, and the check says so instead of inventing a score.

The words it writes (notes, warnings) are for the commander, in the console's active language; the
language they are about is the message's.
"""

import re
from dataclasses import dataclass, field

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy
from textstat.textstat import textstatistics

from accounts.models import LANGUAGES, JargonTerm
from comms.rendering import MessageTemplateError, render_text
from playbooks.models import RESOLVED_STATES
from playbooks.updates.wording import stage_words

LANGUAGE_NAMES = dict(LANGUAGES)
LONG_SENTENCE_WORDS = 25
# Japanese has no spaces between words; plain-Japanese guides count characters instead.
LONG_SENTENCE_CHARACTERS_JA = 60


@dataclass(frozen=True)
class Formula:
    name: str
    textstat_language: str
    compute: str  # textstatistics method name
    higher_is_harder: bool
    limit: float
    scale: str

    def score(self, text):
        stats = textstatistics()  # one instance per call: set_lang is per instance, so thread-safe
        stats.set_lang(self.textstat_language)
        if self.compute == "wiener_sachtextformel":
            return round(stats.wiener_sachtextformel(text, 1), 1)
        return round(getattr(stats, self.compute)(text), 1)

    def is_flagged(self, score):
        return score > self.limit if self.higher_is_harder else score < self.limit

    def advice(self):
        values = {"scale": self.scale, "limit": _number(self.limit)}
        if self.higher_is_harder:
            return _("%(scale)s; aim for %(limit)s or below") % values
        return _("%(scale)s; aim for %(limit)s or above") % values


def _number(value):
    """A score or limit as the reader writes numbers: "8", "12.3" ("12,3" in German)."""
    return number_format(f"{value:g}")


# The formulas' names are proper names; translators may keep them (the Flesch-Kincaid grade is a school grade).
EASY_100 = gettext_lazy("0 (hard) to 100 (easy)")
FORMULAS = {
    "en": Formula(
        gettext_lazy("Flesch-Kincaid grade"),
        "en_US",
        "flesch_kincaid_grade",
        True,
        8,
        gettext_lazy("US school grade"),
    ),
    # Compound words push German scores up: everyday factual German scores about 10.
    "de": Formula(
        gettext_lazy("Wiener Sachtextformel"),
        "de",
        "wiener_sachtextformel",
        True,
        10,
        gettext_lazy("school grade 4 (easy) to 15 (hard)"),
    ),
    "es": Formula(gettext_lazy("Fernández-Huerta"), "es", "fernandez_huerta", False, 60, EASY_100),
    "fr": Formula(gettext_lazy("Flesch (Kandel-Moles)"), "fr", "flesch_reading_ease", False, 60, EASY_100),
    "it": Formula(gettext_lazy("Gulpease"), "it", "gulpease_index", False, 60, EASY_100),
    "nl": Formula(gettext_lazy("Flesch-Douma"), "nl", "flesch_reading_ease", False, 60, EASY_100),
}

# Words that show each part of a good update, per language (lower case; a heuristic, not a parser).
STRUCTURE_PARTS = {
    "what_happened": pgettext_lazy("a part of an update it has no sign of", "says what happened"),
    "impact": pgettext_lazy("a part of an update it has no sign of", "says what it means for the client"),
    "action": pgettext_lazy("a part of an update it has no sign of", "says what to do, or that nothing is needed"),
    "next_update": pgettext_lazy("a part of an update it has no sign of", "says when the next update comes"),
}
STRUCTURE_WORDS = {
    "en": {
        "what_happened": [
            "problem",
            "outage",
            "error",
            "incident",
            "recall",
            "issue",
            "fault",
            "cause",
            "unsafe",
            "exposed",
            "breach",
            "disruption",
            "resolved",
            "fixed",
            "fix",
        ],
        "impact": [
            "means for",
            "what this means",
            "affect",
            "impact",
            "you may",
            "may be",
            "may not",
            "cannot",
            "can't",
            "unable",
            "slow",
            "risk",
            "no longer",
            "back to normal",
            "works normally",
            "work normally",
            "your data",
            "affected",
        ],
        "action": [
            "what you need to do",
            "you need to",
            "you should",
            "please",
            "no action",
            "nothing",
            "do not",
            "don't",
            "stop ",
            "need to do",
            "we recommend",
            "we advise",
            "you can",
            "contact our",
            "change ",
            "keep watching",
            "still applies",
        ],
        "next_update": ["next update", "we will update you", "last update", "final update"],
    },
    "de": {
        "what_happened": [
            "störung",
            "problem",
            "fehler",
            "ausfall",
            "rückruf",
            "vorfall",
            "ursache",
            "sicherheitsrisiko",
            "sicherheitsproblem",
            "behoben",
            "sachstand",
            "korrektur",
        ],
        "impact": [
            "bedeutung für",
            "auswirkung",
            "betroffen",
            "für sie",
            "können",
            "kann ",
            "nicht verfügbar",
            "risiko",
            "wieder normal",
            "betroffenen charge",
            "ihre daten",
        ],
        "action": [
            "maßnahme",
            "bitte",
            "keine maßnahmen",
            "nichts",
            "nicht nötig",
            "nicht erforderlich",
            "sollten",
            "müssen",
            "stellen sie",
            "informieren sie",
            "einstellen",
            "sperren",
            "wenden sie sich",
            "gilt weiterhin",
            "ändern sie",
        ],
        "next_update": ["nächste aktualisierung", "nächstes update", "nächste meldung", "letzte meldung"],
    },
    "fr": {
        "what_happened": ["problème", "incident", "panne", "erreur", "rappel", "cause", "résolu"],
        "impact": ["pour vous", "conséquence", "impact", "affect", "peut ", "peuvent", "risque"],
        "action": [
            "que faire",
            "action",
            "aucune action",
            "rien à faire",
            "veuillez",
            "merci de",
            "devez",
            "n'avez pas besoin",
            "n’avez pas besoin",
        ],
        "next_update": ["prochaine mise à jour", "prochain point", "prochaine information"],
    },
    "es": {
        "what_happened": [
            "problema",
            "incidencia",
            "fallo",
            "error",
            "retirada",
            "causa",
            "interrupción",
            "resuelto",
            "riesgo",
        ],
        "impact": [
            "qué significa",
            "significa para",
            "afecta",
            "impacto",
            "puede",
            "pueden",
            "riesgo",
            "afectado",
            "funciona",
            "debería funcionar",
        ],
        "action": [
            "qué debe hacer",
            "debe ",
            "no necesita",
            "nada",
            "por favor",
            "acción",
            "le recomendamos",
            "deje de",
            "retire",
            "no venda",
            "no use",
            "contacte",
            "avise",
            "cambie",
            "sigue siendo válid",
        ],
        "next_update": ["próxima actualización", "siguiente actualización", "próximo aviso", "seguimiento final"],
    },
    "pt-br": {
        "what_happened": [
            "problema",
            "falha",
            "erro",
            "incidente",
            "recolhimento",
            "causa",
            "instabilidade",
            "resolvido",
            "risco",
            "vazamento",
        ],
        "impact": [
            "o que muda",
            "significa",
            "afeta",
            "impacto",
            "pode",
            "podem",
            "risco",
            "afetado",
            "possível",
            "funciona",
        ],
        "action": [
            "o que você precisa fazer",
            "precisa fazer",
            "não precisa",
            "nada",
            "por favor",
            "ação",
            "recomendamos",
            "deve ",
            "pare de",
            "troque",
            "cuidado",
            "separe",
            "continua valendo",
        ],
        "next_update": ["próxima atualização", "próximo aviso", "próxima:"],
    },
    "it": {
        "what_happened": ["problema", "guasto", "errore", "incidente", "richiamo", "causa", "interruzione", "risolto"],
        "impact": ["cosa significa", "per voi", "per lei", "impatto", "può", "possono", "rischio"],
        "action": [
            "cosa fare",
            "nessuna azione",
            "non è necessario",
            "niente",
            "vi preghiamo",
            "la preghiamo",
            "dovete",
            "deve ",
        ],
        "next_update": ["prossimo aggiornamento"],
    },
    "nl": {
        "what_happened": ["probleem", "storing", "fout", "incident", "terugroep", "oorzaak", "opgelost"],
        "impact": ["wat betekent", "betekent dit", "gevolgen", "impact", "kan ", "kunnen", "risico"],
        "action": ["wat moet u doen", "u hoeft", "geen actie", "niets", "graag", "moet u", "verzoeken"],
        "next_update": ["volgende update", "volgend bericht"],
    },
    "ja": {
        "what_happened": ["障害", "問題", "不具合", "エラー", "リコール", "インシデント", "原因", "解決"],
        "impact": ["影響", "可能性", "ご利用いただけ", "遅延", "起こり得", "正常"],
        "action": ["ご対応", "必要はございません", "不要", "お願い", "ください", "引き続き有効"],
        "next_update": ["次回", "最終"],
    },
}
# Variables that by themselves show a part of the structure.
STRUCTURE_VARIABLES = {
    "what_happened": ["incident_summary"],
    "next_update": ["next_update_at"],
}
CHANNEL_FIELDS = {"email": ("email_subject", "email_body"), "sms": ("sms_body",)}
# The channel a warning is about, at its start: "EMAIL: no sign that it …".
CHANNEL_HEADINGS = {
    "email": pgettext_lazy("the channel a warning is about", "EMAIL"),
    "sms": pgettext_lazy("the channel a warning is about", "SMS"),
}


@dataclass
class LanguageCheck:
    language: str
    readability: dict = field(default_factory=dict)
    long_sentences: list = field(default_factory=list)
    jargon: list = field(default_factory=list)
    structure: dict = field(default_factory=dict)
    missing_phrases: list = field(default_factory=list)
    banned_words: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def language_name(self):
        return LANGUAGE_NAMES.get(self.language, self.language)

    def as_dict(self):
        return {
            "language": self.language,
            "readability": self.readability,
            "long_sentences": self.long_sentences,
            "jargon": self.jargon,
            "structure": self.structure,
            "missing_phrases": self.missing_phrases,
            "banned_words": self.banned_words,
            "notes": self.notes,
            "warnings": self.warnings,
        }


def plain_language_check(*, update):
    """The check of an update's words in every language, with the organisation's jargon list and
    the rules of the playbook the incident was created from. Returns {language: LanguageCheck}."""
    incident = update.incident
    jargon = list(
        JargonTerm.objects.filter(organization_id=incident.organization_id).values("term", "plain_words", "language")
    )
    context = sample_context(incident=incident, stage=update.stage)
    return check_texts(
        texts=update.texts,
        jargon=jargon,
        content_rules=incident.plan.get("content_rules") or {},
        default_language=incident.plan.get("default_language") or "en",
        expects_next_update=update.stage not in RESOLVED_STATES,
        is_holding_statement=update.is_holding_statement,
        context=context,
    )


def sample_context(*, incident, stage):
    """Values for the message variables that read like a real message, for scoring the words."""
    return {
        "organization_name": incident.organization.name,
        "client_name": "your company",
        "contact_name": "Sam",
        "incident_title": incident.title,
        "incident_summary": incident.summary,
        "stage": lambda language: stage_words(stage, language),
        "next_update_at": "10:30",
        "status_url": "",
        "preferences_url": "",
    }


def check_texts(
    *,
    texts,
    jargon=(),
    content_rules=None,
    default_language="en",
    expects_next_update=True,
    is_holding_statement=False,
    context=None,
):
    """Check each language's texts ({"email_subject", "email_body", "sms_body"}); never raises on words.

    The structure is checked on the email, the full update; the SMS is a summary of it and is only
    checked for the next-update time (all four parts when there is no email).
    """
    content_rules = content_rules or {}
    parts = ["what_happened", "next_update"] if is_holding_statement else list(STRUCTURE_PARTS)
    if not expects_next_update:
        parts.remove("next_update")  # a resolution notice promises no further update
    return {
        language: _check_language(language, fields, jargon, content_rules, default_language, parts, context or {})
        for language, fields in texts.items()
    }


def _check_language(language, fields, jargon, content_rules, default_language, parts, context):
    check = LanguageCheck(language=language)
    rendered = {
        name: _rendered(fields.get(name) or "", language, context)
        for name in ("email_subject", "email_body", "sms_body")
    }
    channels = {
        channel: [name for name in names if (fields.get(name) or "").strip()]
        for channel, names in CHANNEL_FIELDS.items()
    }
    channels = {channel: names for channel, names in channels.items() if names}

    _readability(check, rendered["email_body"] or rendered["sms_body"], language)
    for channel, names in channels.items():
        for name in names:
            if name == "email_subject":
                continue
            _long_sentences(check, rendered[name], language, channel)
    _jargon(check, rendered, language, jargon)
    for channel, names in channels.items():
        raw = " ".join(fields.get(name) or "" for name in names)
        text = " ".join(rendered[name] for name in names)
        channel_parts = (
            parts
            if channel == "email" or "email" not in channels
            else [part for part in parts if part == "next_update"]
        )
        _structure(check, channel, raw, text, language, channel_parts)
    _content_rules(check, fields, rendered, language, content_rules, default_language)
    return check


def _rendered(template_text, language, context):
    values = {key: (value(language) if callable(value) else value) for key, value in context.items()}
    try:
        text = render_text(template_text, values)
    except MessageTemplateError:
        text = re.sub(r"{[{%].*?[%}]}", " ", template_text)
    return text


def _prose(text):
    """Lines without end punctuation (headings, list items) count as sentences of their own."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(line if line[-1] in ".!?:;。！？" else line + "." for line in lines)


def _readability(check, text, language):
    formula = FORMULAS.get(language)
    if formula is None:
        check.readability = {
            "formula": None,
            "score": None,
            "flagged": False,
            "note": _("No readability formula for %(language)s in textstat.") % {"language": check.language_name},
        }
        return
    name = str(formula.name)
    if not text.strip():
        check.readability = {"formula": name, "score": None, "flagged": False, "note": _("No text to score.")}
        return
    score = formula.score(_prose(text))
    flagged = formula.is_flagged(score)
    check.readability = {"formula": name, "score": score, "flagged": flagged, "note": formula.advice()}
    if flagged:
        check.warnings.append(
            _("Hard to read: %(formula)s %(score)s (%(advice)s). Use shorter sentences and words.")
            % {"formula": name, "score": _number(score), "advice": formula.advice()}
        )


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_SENTENCE_END_JA = re.compile(r"(?<=[。！？])|\n+")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def _long_sentences(check, text, language, channel):
    if language == "ja":
        for sentence in filter(None, (s.strip() for s in _SENTENCE_END_JA.split(text))):
            if len(sentence) > LONG_SENTENCE_CHARACTERS_JA:
                check.long_sentences.append(
                    {"channel": channel, "length": len(sentence), "unit": "characters", "sentence": sentence}
                )
                check.warnings.append(
                    ngettext(
                        "%(channel)s: a sentence of %(count)s character (over %(limit)s): “%(sentence)s”",
                        "%(channel)s: a sentence of %(count)s characters (over %(limit)s): “%(sentence)s”",
                        len(sentence),
                    )
                    % {
                        "channel": CHANNEL_HEADINGS[channel],
                        "count": len(sentence),
                        "limit": LONG_SENTENCE_CHARACTERS_JA,
                        "sentence": _shorten(sentence),
                    }
                )
        return
    for sentence in filter(None, (s.strip() for s in _SENTENCE_END.split(text))):
        words = len(_WORD.findall(sentence))
        if words > LONG_SENTENCE_WORDS:
            check.long_sentences.append({"channel": channel, "length": words, "unit": "words", "sentence": sentence})
            check.warnings.append(
                ngettext(
                    "%(channel)s: a sentence of %(count)s word (over %(limit)s): “%(sentence)s”",
                    "%(channel)s: a sentence of %(count)s words (over %(limit)s): “%(sentence)s”",
                    words,
                )
                % {
                    "channel": CHANNEL_HEADINGS[channel],
                    "count": words,
                    "limit": LONG_SENTENCE_WORDS,
                    "sentence": _shorten(sentence),
                }
            )


def _shorten(sentence, limit=80):
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _phrase_pattern(phrase):
    escaped = re.escape(phrase.strip())
    # Word boundaries only where the phrase starts or ends with a word character.
    prefix = r"(?<!\w)" if re.match(r"\w", phrase.strip()) else ""
    suffix = r"(?!\w)" if re.search(r"\w$", phrase.strip()) else ""
    return re.compile(prefix + escaped + suffix, re.IGNORECASE)


def _jargon(check, rendered, language, jargon):
    text = "\n".join(rendered.values())
    for term in jargon:
        if term.get("language") and term["language"] != language:
            continue
        if term["term"].strip() and _phrase_pattern(term["term"]).search(text):
            check.jargon.append({"term": term["term"], "plain_words": term["plain_words"]})
            check.warnings.append(
                _("Jargon: “%(term)s”; say “%(plain_words)s” instead.")
                % {"term": term["term"], "plain_words": term["plain_words"]}
            )


def _structure(check, channel, raw, text, language, parts):
    words = STRUCTURE_WORDS.get(language, STRUCTURE_WORDS["en"])
    lowered = text.lower() + " "
    found = {}
    for part in parts:
        variables = STRUCTURE_VARIABLES.get(part, [])
        found[part] = any(re.search(rf"{{{{\s*{name}\s*}}}}", raw) for name in variables) or any(
            word in lowered for word in words[part]
        )
    check.structure[channel] = found
    missing = [str(STRUCTURE_PARTS[part]) for part, ok in found.items() if not ok]
    if missing:
        check.warnings.append(
            _("%(channel)s: no sign that it %(parts)s.")
            % {"channel": CHANNEL_HEADINGS[channel], "parts": pgettext("between listed items", ", ").join(missing)}
        )


def _content_rules(check, fields, rendered, language, content_rules, default_language):
    text = "\n".join(rendered.values())
    for phrase in content_rules.get("required_phrases") or []:
        if isinstance(phrase, dict):  # {"en": "Product safety recall", "de": "Produktsicherheitsrückruf"}
            wanted = phrase.get(language)
        else:
            wanted = phrase if language == default_language else None
            if wanted is None:
                check.notes.append(
                    _(
                        "The playbook requires “%(phrase)s” in %(language)s; make sure this translation carries the "
                        "same heading."
                    )
                    % {"phrase": phrase, "language": LANGUAGE_NAMES.get(default_language, default_language)}
                )
        if wanted and not _phrase_pattern(wanted).search(text):
            check.missing_phrases.append(wanted)
            check.warnings.append(_("The playbook requires “%(phrase)s”; it is missing.") % {"phrase": wanted})
    for word in content_rules.get("banned_words") or []:
        if word.strip() and _phrase_pattern(word).search(text):
            check.banned_words.append(word)
            check.warnings.append(_("The playbook flags “%(word)s”: avoid it in this kind of notice.") % {"word": word})
