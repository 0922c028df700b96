"""Slack: team notices posted into a channel through its incoming-webhook URL, with slack_sdk's
WebhookClient, one request per notice (an incoming webhook takes one message at a time).

Slack answers 200 "ok"; 400 invalid_payload, 403 action_prohibited, 404 no_service or
channel_not_found and 410 channel_is_archived are permanent (the hook will not take it), 429 and
5xx are transient, after Retry-After when Slack sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.webhook import WebhookClient

from comms.providers.base import (
    Outcome,
    OutgoingTeamNotice,
    SendResult,
    TeamChannelProvider,
    result_for_http_status,
)

logger = logging.getLogger(__name__)


def _escape(text: str) -> str:
    # Slack's mrkdwn gives meaning to these three characters only.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notice: OutgoingTeamNotice) -> dict:
    """The message: the title in bold, the words, what to do now, and a button to the incident.
    `text` is what notifications and old clients show instead of the blocks."""
    fallback = notice.title + (f" - {notice.action}" if notice.action else "")
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(notice.title)}*\n{_escape(notice.text)}"}},
    ]
    if notice.action:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f":point_right: *Now:* {_escape(notice.action)}"}}
        )
    if notice.link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in Candor"},
                        "url": notice.link,
                        "style": "primary",
                    }
                ],
            }
        )
    return {"text": fallback, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


class SlackProvider(TeamChannelProvider):
    name = "slack"

    def __init__(self, *, timeout_seconds: float = 10.0):
        self.timeout_seconds = timeout_seconds

    def send_notices(self, notices: Sequence[OutgoingTeamNotice]) -> list[SendResult]:
        return [self._send_one(notice) for notice in notices]

    def _send_one(self, notice: OutgoingTeamNotice) -> SendResult:
        # No retry handlers: the outbox retries, with backoff, and records every attempt.
        client = WebhookClient(notice.webhook_url, timeout=self.timeout_seconds, retry_handlers=[])
        try:
            response = client.send_dict(slack_payload(notice))
        except TimeoutError as error:
            return _transient(notice, "timeout", error)
        except OSError as error:  # urllib's URLError (refused, unreachable) and resets
            reason = getattr(error, "reason", None)
            return _transient(notice, "timeout" if isinstance(reason, TimeoutError) else "connection", error)
        except Exception as error:  # one result per notice, whatever happens
            logger.exception("Unexpected error posting notice %s to Slack", notice.message_id)
            return _transient(notice, "unexpected", error)
        return result_for_http_status(
            notice.message_id, response.status_code, headers=response.headers, description=(response.body or "")[:200]
        )


def _transient(notice, error_code, error) -> SendResult:
    return SendResult(
        message_id=notice.message_id,
        outcome=Outcome.TRANSIENT,
        error_code=error_code,
        error=str(error) or type(error).__name__,
    )
