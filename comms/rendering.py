"""Rendering a message for its recipients: templates, language fallback, local times, SMS segments.

Messages are rendered once per (language, timezone) group; the values that differ per recipient
are left as substitution tokens, filled in at send time (the caller names them: comms knows no
incident's variables). That keeps 100,000 recipients to a handful of rendered texts, and is how
SendGrid batches them.
"""

import zoneinfo
from dataclasses import dataclass

from django.template import Context, Engine
from django.utils.translation import gettext as _

from comms.providers.base import apply_substitutions  # noqa: F401  (re-exported for renderers)

MAX_SMS_SEGMENTS = 4
FALLBACK_LANGUAGE = "en"

_engine = Engine(autoescape=False, string_if_invalid="", libraries={}, builtins=[])


class MessageTemplateError(ValueError):
    pass


def _compile(template_text):
    # Any error while compiling (not only TemplateSyntaxError) is the author's to fix, never a
    # server error.
    try:
        return _engine.from_string(template_text or "")
    except Exception as exc:
        detail = " ".join(str(exc).split()).rstrip(".")
        raise MessageTemplateError(_("Template error: %(detail)s.") % {"detail": detail}) from exc


def render_text(template_text, context):
    """Render a plain-text message template with the given variables."""
    from django.template import TemplateDoesNotExist

    template = _compile(template_text)
    try:
        return template.render(Context(context)).strip()
    except TemplateDoesNotExist as exc:
        # The message engine has no template loader: {% include %} and {% extends %} can never work.
        raise MessageTemplateError(
            _("Template error: a message cannot include or extend other templates (%(detail)s).") % {"detail": exc}
        ) from exc
    except Exception as exc:
        detail = " ".join(str(exc).split()).rstrip(".")
        raise MessageTemplateError(_("Template error: %(detail)s.") % {"detail": detail}) from exc


# The tags a message may use; anything else (`include`, `load`, `extends`, `url`...) reaches outside
# the message and is refused where the words are written.
ALLOWED_TAGS = {"if", "comment", "firstof", "with"}


def _expressions(value):
    """The FilterExpressions inside a node attribute (if conditions, with values, tag arguments)."""
    from django.template.base import FilterExpression
    from django.template.smartif import TokenBase

    if isinstance(value, FilterExpression):
        yield value
    elif isinstance(value, TokenBase):
        for part in ("value", "first", "second"):
            yield from _expressions(getattr(value, part, None))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _expressions(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _expressions(item)


def _variable_names(expression):
    from django.template.base import Variable

    candidates = [expression.var] + [argument for _, arguments in expression.filters for _, argument in arguments]
    for variable in candidates:
        if isinstance(variable, Variable) and variable.lookups:
            yield variable.var


def _walk(nodelist):
    for node in nodelist:
        yield node
        for attribute in getattr(node, "child_nodelists", ()):
            yield from _walk(getattr(node, attribute, None) or ())
        for _condition, child in getattr(node, "conditions_nodelists", ()):
            yield from _walk(child)


def template_variables(template_text):
    """The variable names a template uses, in order of first use, as written (`incident.title`
    stays whole). Raises MessageTemplateError when it does not compile or uses a tag messages
    may not use."""
    names, defined = [], set()
    for node in _walk(_compile(template_text).nodelist):
        token = getattr(node, "token", None)
        if token is not None and token.token_type.name == "BLOCK":
            tag = token.contents.split()[0]
            if tag not in ALLOWED_TAGS:
                raise MessageTemplateError(
                    _("Template error: the %(tag)s tag cannot be used in a message (allowed: %(allowed)s).")
                    % {"tag": f"{{% {tag} %}}", "allowed": ", ".join(sorted(ALLOWED_TAGS))}
                )
            defined.update(getattr(node, "extra_context", {}) or {})
        for value in vars(node).values():
            for expression in _expressions(value):
                for name in _variable_names(expression):
                    if name not in names:
                        names.append(name)
    return [name for name in names if name.split(".")[0] not in defined]


def unknown_variable_words(name, *, allowed):
    """A variable not among `allowed`, in words for the author, with the allowed list."""
    return _("Unknown variable %(variable)s; the variables are: %(allowed)s.") % {
        "variable": f"{{{{ {name} }}}}",
        "allowed": ", ".join(sorted(allowed)),
    }


def template_problems(template_text, *, allowed):
    """What is wrong with a message template, as sentences naming the problem: a syntax error, or
    a variable not among `allowed` (with the allowed list). Empty when it is fine."""
    try:
        names = template_variables(template_text)
    except MessageTemplateError as error:
        return [str(error)]
    return [unknown_variable_words(name, allowed=allowed) for name in names if name not in allowed]


def choose_language(candidates, available):
    """The first candidate language that has a text, then English, then any."""
    for language in [*candidates, FALLBACK_LANGUAGE]:
        if language and language in available:
            return language
    return next(iter(sorted(available)), None)


_LOCAL_FORMATS = {
    "en": "{time} {tz}, {day} {month_en}",
    "de": "{day}.{month}., {time} Uhr {tz}",
    "fr": "{day}/{month} à {time} ({tz})",
    "es": "{day}/{month} a las {time} ({tz})",
    "pt-br": "{day}/{month} às {time} ({tz})",
    "it": "{day}/{month} alle {time} ({tz})",
    "nl": "{day}-{month} om {time} ({tz})",
    "ja": "{month}月{day}日 {time} ({tz})",
}
_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def format_local_time(moment, *, language, timezone_name):
    """A short, unambiguous local time like "14:30 CET, 24 Nov" in the reader's language."""
    if moment is None:
        return ""
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone_name or "UTC"))
    tz = local.tzname() or "UTC"
    if tz[:1] in "+-":
        tz = f"UTC{tz}"
    pattern = _LOCAL_FORMATS.get(language, _LOCAL_FORMATS["en"])
    return pattern.format(
        time=local.strftime("%H:%M"),
        tz=tz,
        day=local.day,
        month=local.month,
        month_en=_MONTHS_EN[local.month - 1],
    )


# GSM 03.38: the basic set costs one septet, the extension set two.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
GSM7_ALL = frozenset(GSM7_BASIC | GSM7_EXTENDED)


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def sms_size(text):
    """Encoding and segment count: GSM-7 160 single / 153 per part, UCS-2 70 / 67."""
    if set(text) <= GSM7_ALL:
        units = len(text) + sum(text.count(char) for char in GSM7_EXTENDED)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // part)
    return SmsSize(encoding=encoding, units=units, segments=segments)


_SMS_FRIENDLY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "})


def sms_friendly(text):
    """Typographic quotes and dashes force the costly UCS-2 encoding; use their plain forms."""
    return text.translate(_SMS_FRIENDLY)
