"""Per-message reply addresses: `reply+<message id>.<signature>@<inbound domain>`.

Every email to a contact carries one as its Reply-To, so a reply arriving through the inbound
parse webhook names the message it answers, and through it the contact and the topic. The
signature (a keyed hash, lower-case hex: mail systems may change the case of a local part) means a
forged or guessed address matches nothing; the From header is never trusted on its own.
"""

import re

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "candor.comms.reply_address"
SIGNATURE_LENGTH = 20  # hex characters: 80 bits
# The token SendGrid replaces per recipient in the shared Reply-To (substitutions apply to it).
REPLY_TOKEN = "-reply_token-"
_ADDRESS = re.compile(rf"reply\+(\d{{1,18}})\.([0-9a-f]{{{SIGNATURE_LENGTH}}})@([a-z0-9.-]+)", re.IGNORECASE)


def inbound_domain():
    return (getattr(settings, "CANDOR_INBOUND_EMAIL_DOMAIN", "") or "").strip().lower()


def reply_token(message_id):
    """The signed local-part suffix naming one message, e.g. "42.3f1c..."."""
    signature = salted_hmac(_SALT, str(message_id)).hexdigest()[:SIGNATURE_LENGTH]
    return f"{message_id}.{signature}"


def reply_address_template():
    """The Reply-To shared by a batch, with the per-recipient token left in; "" when no inbound
    domain is configured."""
    domain = inbound_domain()
    return f"reply+{REPLY_TOKEN}@{domain}" if domain else ""


def reply_address(message_id):
    domain = inbound_domain()
    return f"reply+{reply_token(message_id)}@{domain}" if domain else ""


def message_id_from_addresses(text):
    """The message id named by the first validly signed reply address on our inbound domain in
    `text` (any recipient list: envelope, To, Cc); None when there is none."""
    domain = inbound_domain()
    if not domain:
        return None
    for match in _ADDRESS.finditer(text or ""):
        message_id, signature, address_domain = match.groups()
        if address_domain.lower() != domain:
            continue
        expected = reply_token(int(message_id)).split(".", 1)[1]
        if constant_time_compare(signature.lower(), expected):
            return int(message_id)
    return None


def has_reply_address(text):
    """Whether `text` names any reply address on our inbound domain, signed well or not."""
    domain = inbound_domain()
    return bool(domain) and any(match.group(3).lower() == domain for match in _ADDRESS.finditer(text or ""))
