"""Rendering a message for its recipients: templates, language fallback, local times, SMS segments.

Messages are rendered once per (language, timezone) group; the values that differ per recipient
are left as substitution tokens, filled in at send time (the caller names them: comms knows no
incident's variables). That keeps 100,000 recipients to a handful of rendered texts, and is how
SendGrid batches them.
"""

import zoneinfo
from dataclasses import dataclass

from django.template import Context, Engine

from comms.providers.base import apply_substitutions  # noqa: F401  (re-exported for renderers)

MAX_SMS_SEGMENTS = 4
FALLBACK_LANGUAGE = "en"

_engine = Engine(autoescape=False, string_if_invalid="", libraries={}, builtins=[])


class MessageTemplateError(ValueError):
    pass


def render_text(template_text, context):
    """Render a plain-text message template with the given variables."""
    from django.template import TemplateDoesNotExist, TemplateSyntaxError

    try:
        return _engine.from_string(template_text).render(Context(context)).strip()
    except TemplateSyntaxError as exc:
        raise MessageTemplateError(f"Template error: {exc}") from exc
    except TemplateDoesNotExist as exc:
        # The message engine has no template loader: {% include %} and {% extends %} can never work.
        raise MessageTemplateError(
            f"Template error: a message cannot include or extend other templates ({exc})."
        ) from exc


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
