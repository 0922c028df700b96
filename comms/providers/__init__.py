"""SMS and email providers behind one small interface; see base.py."""

from comms.providers.base import (
    EmailProvider,
    Outcome,
    OutgoingEmail,
    OutgoingSms,
    SendResult,
    SmsProvider,
    get_email_provider,
    get_sms_provider,
)

__all__ = [
    "EmailProvider",
    "Outcome",
    "OutgoingEmail",
    "OutgoingSms",
    "SendResult",
    "SmsProvider",
    "get_email_provider",
    "get_sms_provider",
]
