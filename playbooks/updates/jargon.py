"""The organisation's jargon list: the words the plain-language check flags in drafts, with the
plain words to say instead. Edited by the incident team."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import JargonTerm


def _check_may_edit(actor):
    if not actor.can_draft_updates:
        raise PermissionDenied(_("Only the incident team edits the jargon list."))


@transaction.atomic
def jargon_term_add(*, organization, actor, term, plain_words, language=""):
    """Add a term to the organisation's list. Raises ValidationError (a term already listed for
    that language, an unknown language) and PermissionDenied (not the incident team)."""
    _check_may_edit(actor)
    jargon_term = JargonTerm(organization=organization, term=term, plain_words=plain_words, language=language)
    jargon_term.full_clean()
    jargon_term.save()
    return jargon_term


@transaction.atomic
def jargon_term_remove(*, jargon_term, actor):
    """Take a term off the list; drafts are no longer flagged for it."""
    _check_may_edit(actor)
    jargon_term.delete()
