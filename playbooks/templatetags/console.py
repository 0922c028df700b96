"""Template filters and tags of the console: words for the codes that rows store, and for its script."""

from django import template
from django.utils.html import json_script
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from playbooks.models.core import STATE_LABELS

register = template.Library()


@register.filter
def state_label(code):
    """A lifecycle state's name in the reader's language ("investigating" -> "Investigating")."""
    return STATE_LABELS.get(code, code) if code else ""


@register.simple_tag
def countdown_words():
    """What console.js needs to keep the countdowns ("in 25 min") running between page loads in the
    reader's language, as a JSON script element: the patterns of candor.helpers.duration_words and
    of console.views.countdown. Days show only from 2 up, where each console language uses one
    plural form, so the form for 2 serves them all."""
    words = {
        "in": _("in %(duration)s"),
        "overdue": _("overdue by %(duration)s"),
        "seconds": _("%(seconds)s s"),
        "minutes": _("%(minutes)s min"),
        "hours": _("%(hours)s h"),
        "hours_minutes": _("%(hours)s h %(minutes)s min"),
        "days": ngettext("%(days)s day", "%(days)s days", 2),
        "days_hours": ngettext("%(days)s day %(hours)s h", "%(days)s days %(hours)s h", 2),
    }
    return json_script(words, "countdown-words")
