"""Microsoft Teams: team notices posted into a channel through a Workflows ("Post to a channel
when a webhook request is received") webhook URL, as the documented message with one Adaptive
Card attachment. One request per notice.

The workflow answers 202 Accepted (200 from older connectors); 404 and 410 mean the workflow or
its channel is gone (permanent), 429 and 5xx are transient, after Retry-After when sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import requests

from comms.providers.base import (
    Outcome,
    OutgoingTeamNotice,
    SendResult,
    TeamChannelProvider,
    result_for_http_status,
)

logger = logging.getLogger(__name__)

ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def teams_payload(notice: OutgoingTeamNotice) -> dict:
    """A message with one Adaptive Card (schema 1.4, what Teams renders): the title, the words,
    what to do now, and a button to the incident."""
    body = [
        {"type": "TextBlock", "text": notice.title, "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "TextBlock", "text": notice.text, "wrap": True},
    ]
    if notice.action:
        body.append({"type": "TextBlock", "text": f"Now: {notice.action}", "weight": "Bolder", "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if notice.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Candor", "url": notice.link}]
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


class TeamsProvider(TeamChannelProvider):
    name = "teams"

    def __init__(self, *, timeout_seconds: float = 10.0):
        self.timeout_seconds = timeout_seconds
        self._session = requests.Session()

    def send_notices(self, notices: Sequence[OutgoingTeamNotice]) -> list[SendResult]:
        return [self._send_one(notice) for notice in notices]

    def _send_one(self, notice: OutgoingTeamNotice) -> SendResult:
        try:
            response = self._session.post(
                notice.webhook_url, json=teams_payload(notice), timeout=self.timeout_seconds, allow_redirects=False
            )
        except requests.exceptions.Timeout as error:
            return _transient(notice, "timeout", error)
        except requests.exceptions.RequestException as error:
            return _transient(notice, "connection", error)
        except Exception as error:  # one result per notice, whatever happens
            logger.exception("Unexpected error posting notice %s to Teams", notice.message_id)
            return _transient(notice, "unexpected", error)
        return result_for_http_status(
            notice.message_id, response.status_code, headers=response.headers, description=response.text[:200]
        )


def _transient(notice, error_code, error) -> SendResult:
    return SendResult(
        message_id=notice.message_id,
        outcome=Outcome.TRANSIENT,
        error_code=error_code,
        error=str(error) or type(error).__name__,
    )
