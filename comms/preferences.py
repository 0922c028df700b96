"""A contact's own choices of how we reach them: channels, language, SMS consent.

Each change is made on the contact row (with consent timestamps) and kept as a PreferenceChange
audit row. Publishing reads the contact when it runs, so a change applies to the very next message.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import LANGUAGE_CODES, Contact, SmsConsent

from .models import PreferenceChange


class PreferenceVia:
    PAGE = "page"
    ONE_CLICK = "one_click"


def _record(contact, changes, via, at):
    if not changes:
        return None
    return PreferenceChange.objects.create(contact=contact, at=at, via=via, changes=changes)


@transaction.atomic
def contact_preferences_change(*, contact, accepts_email, wants_sms, language, via=PreferenceVia.PAGE, at=None):
    """Set a contact's channels and language as they chose them.

    `wants_sms` True opts in (SMS accepted, consent granted now unless it already was); False
    opts out (consent withdrawn now), exactly like replying STOP. `language` "" means the
    client's. Returns the PreferenceChange recorded, or None when nothing changed.
    """
    at = at or timezone.now()
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if language and language not in LANGUAGE_CODES:
        raise ValidationError({"language": f"Unknown language {language!r}."})
    if wants_sms and not contact.phone:
        raise ValidationError({"wants_sms": "We have no mobile number for you; SMS cannot be turned on."})
    before = _snapshot(contact)
    contact.accepts_email = bool(accepts_email)
    contact.language = language or ""
    if wants_sms:
        contact.accepts_sms = True
        if contact.sms_consent != SmsConsent.GRANTED:
            contact.grant_sms_consent(at=at)
    elif contact.accepts_sms and contact.sms_consent != SmsConsent.OPTED_OUT:
        contact.opt_out_of_sms(at=at)
    changes = _changes(before, _snapshot(contact))
    if changes:
        contact.save(
            update_fields=[
                "accepts_email",
                "accepts_sms",
                "language",
                "sms_consent",
                "sms_consent_at",
                "sms_opted_out_at",
                "updated_at",
            ]
        )
    return _record(contact, changes, via, at)


@transaction.atomic
def contact_email_unsubscribe(*, contact, via=PreferenceVia.ONE_CLICK, at=None):
    """Stop email to this contact (RFC 8058 one-click unsubscribe). Idempotent: a second call
    changes and records nothing. Returns the PreferenceChange, or None."""
    at = at or timezone.now()
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if not contact.accepts_email:
        return None
    contact.accepts_email = False
    contact.save(update_fields=["accepts_email", "updated_at"])
    return _record(contact, {"accepts_email": [True, False]}, via, at)


def _snapshot(contact):
    return {
        "accepts_email": contact.accepts_email,
        "accepts_sms": contact.accepts_sms,
        "sms_consent": contact.sms_consent,
        "language": contact.language,
    }


def _changes(before, after):
    return {field: [before[field], after[field]] for field in before if before[field] != after[field]}
