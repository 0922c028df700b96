"""The default providers: every message goes to the "candor.outbox" log and to a file.

Files live at <CANDOR_OUTBOX_DIR>/<channel>/<message_id>.txt, headers first, then a blank line and
the body, exactly as the recipient would read it (substitutions applied). Sending the same message
again overwrites its file, so a retried send leaves one file, as a provider would leave one message.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from comms.providers.base import (
    EmailProvider,
    Outcome,
    OutgoingEmail,
    OutgoingSms,
    SendResult,
    SmsProvider,
    apply_substitutions,
)

logger = logging.getLogger("candor.outbox")


def _write_atomically(path: Path, text: str) -> None:
    # A reader (the demo, a test) never sees half a message, and a resend replaces the file whole.
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _render(headers: list[tuple[str, str]], body: str) -> str:
    lines = [f"{name}: {value}" for name, value in headers if value]
    return "\n".join(lines) + "\n\n" + body + "\n"


def _deliver(path: Path, text: str, message_id: int) -> SendResult:
    try:
        _write_atomically(path, text)
    except OSError as error:
        # The outbox directory is this provider's "network": a full or unwritable disk may recover.
        logger.error("Could not write %s: %s", path, error)
        return SendResult(
            message_id=message_id,
            outcome=Outcome.TRANSIENT,
            error_code="outbox-write",
            error=str(error),
        )
    return SendResult(message_id=message_id, outcome=Outcome.ACCEPTED, provider_message_id=f"console-{message_id}")


class ConsoleSmsProvider(SmsProvider):
    name = "console"

    def __init__(self, *, outbox_dir: Path | str):
        self.outbox_dir = Path(outbox_dir)

    def send_sms(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        results = []
        for message in messages:
            text = _render(
                [
                    ("To", message.to),
                    ("Message-Id", str(message.message_id)),
                    ("Status-Callback", message.status_callback_url),
                ],
                message.body,
            )
            logger.info("SMS %s to %s:\n%s", message.message_id, message.to, message.body)
            path = self.outbox_dir / "sms" / f"{message.message_id}.txt"
            results.append(_deliver(path, text, message.message_id))
        return results


class ConsoleEmailProvider(EmailProvider):
    name = "console"

    def __init__(self, *, outbox_dir: Path | str):
        self.outbox_dir = Path(outbox_dir)

    def send_email(self, messages: Sequence[OutgoingEmail]) -> list[SendResult]:
        results = []
        for message in messages:
            subject = apply_substitutions(message.subject, message.substitutions)
            body = apply_substitutions(message.body, message.substitutions)
            recipient = f"{message.to_name} <{message.to_email}>" if message.to_name else message.to_email
            text = _render(
                [
                    ("To", recipient),
                    ("Subject", subject),
                    ("Reply-To", apply_substitutions(message.reply_to, message.substitutions)),
                    ("Message-Id", str(message.message_id)),
                    *message.headers.items(),
                ],
                body,
            )
            logger.info("Email %s to %s: %s\n%s", message.message_id, recipient, subject, body)
            path = self.outbox_dir / "email" / f"{message.message_id}.txt"
            results.append(_deliver(path, text, message.message_id))
        return results
