"""Template filters of the console: words for the codes that rows store."""

from django import template

from playbooks.models.core import STATE_LABELS

register = template.Library()


@register.filter
def state_label(code):
    """A lifecycle state's name in the reader's language ("investigating" -> "Investigating")."""
    return STATE_LABELS.get(code, code) if code else ""
