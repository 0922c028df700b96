"""Signed, unguessable links for contacts (no login), and the signing they share.

Tokens are "<value>.<signature>" with a truncated HMAC-SHA256 (128 bits) keyed by SECRET_KEY
and a per-purpose salt: short enough for an SMS, computed fast enough for 100,000 recipients.
"""

import base64
import functools
import hashlib
import hmac

from django.conf import settings
from django.utils.crypto import constant_time_compare

PREFERENCES_SALT = "candor.comms.preferences"


@functools.lru_cache(maxsize=32)
def _keyed(secret, salt):
    """The HMAC keyed for one purpose, its key schedule done once: each signature copies it (a
    fan-out signs three links per reader; copying costs half of keying a new one)."""
    return hmac.new(hashlib.sha256(f"candor-link:{salt}:{secret}".encode()).digest(), digestmod=hashlib.sha256)


def _signature(value, salt):
    mac = _keyed(settings.SECRET_KEY, salt).copy()
    mac.update(value.encode())
    return base64.urlsafe_b64encode(mac.digest()[:16]).decode().rstrip("=")


def sign_value(value, *, salt):
    return f"{value}.{_signature(value, salt)}"


def unsign_value(token, *, salt):
    """The signed value, or None for a forged, altered or malformed token."""
    value, _, signature = (token or "").rpartition(".")
    if not value or not constant_time_compare(signature, _signature(value, salt)):
        return None
    return value


def preferences_token(contact_id):
    return sign_value(str(contact_id), salt=PREFERENCES_SALT)


def preferences_url(contact_id):
    return f"{settings.CANDOR_PUBLIC_URL}/p/{preferences_token(contact_id)}/"


def contact_id_from_preferences_token(token):
    """The contact id a token was made for, or None when it is forged or malformed."""
    value = unsign_value(token, salt=PREFERENCES_SALT)
    return int(value) if value and value.isdigit() else None
