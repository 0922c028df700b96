"""Signed links to a contact's own preferences page: unguessable, no login."""
from django.conf import settings
from django.core import signing

PREFERENCES_SALT = "candor.comms.preferences"


def preferences_token(contact_id):
    return signing.Signer(salt=PREFERENCES_SALT).sign(str(contact_id))


def preferences_url(contact_id):
    return f"{settings.CANDOR_PUBLIC_URL}/p/{preferences_token(contact_id)}/"


def contact_id_from_preferences_token(token):
    """The contact id a token was made for, or None when it is forged or malformed."""
    try:
        return int(signing.Signer(salt=PREFERENCES_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None
