"""Team notices posted into Slack and Microsoft Teams channels through their incoming-webhook URLs:
rows in the same outbox, the real slack_sdk client and requests talking to the fake server, the
same retries and classification (429/5xx again later, 404/410 given up)."""

import datetime as dt

import pytest
import time_machine

from comms.models import Message, MessageStatus, TeamChannel
from comms.notifications import team_notify

T0 = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
LINK = "http://localhost:8000/incidents/7/"


@pytest.fixture
def channels(organization, fake_providers, settings, tmp_path):
    settings.PROVIDER_TIMEOUT_SECONDS = 2
    settings.CANDOR_OUTBOX_DIR = tmp_path / "outbox"
    slack = TeamChannel.objects.create(
        organization=organization,
        kind="slack",
        name="#incidents",
        webhook_url=f"{fake_providers.base_url}/services/T0001/B0001/slacksecret",
    )
    teams = TeamChannel.objects.create(
        organization=organization,
        kind="teams",
        name="Incident room",
        webhook_url=f"{fake_providers.base_url}/workflows/4a1f/triggers/manual/paths/invoke",
    )
    return slack, teams


def notify_overdue(organization, source="promise:1:escalation", **extra):
    return team_notify(
        organization=organization,
        users=[],
        topic="incident:7",
        source=source,
        subject="[Northwind] Update overdue: Payments <API> down",
        body="Clients were promised an update by 10:00 and none has been published.",
        link=LINK,
        action="Publish an update now.",
        **extra,
    )


SLACK_PAYLOAD = {
    "text": "[Northwind] Update overdue: Payments <API> down - Publish an update now.",
    "blocks": [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*[Northwind] Update overdue: Payments &lt;API&gt; down*\n"
                "Clients were promised an update by 10:00 and none has been published.",
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": ":point_right: *Now:* Publish an update now."}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open in Candor"},
                    "url": LINK,
                    "style": "primary",
                }
            ],
        },
    ],
    "unfurl_links": False,
    "unfurl_media": False,
}

TEAMS_PAYLOAD = {
    "type": "message",
    "attachments": [
        {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {
                        "type": "TextBlock",
                        "text": "[Northwind] Update overdue: Payments <API> down",
                        "weight": "Bolder",
                        "size": "Medium",
                        "wrap": True,
                    },
                    {
                        "type": "TextBlock",
                        "text": "Clients were promised an update by 10:00 and none has been published.",
                        "wrap": True,
                    },
                    {"type": "TextBlock", "text": "Now: Publish an update now.", "weight": "Bolder", "wrap": True},
                ],
                "actions": [{"type": "Action.OpenUrl", "title": "Open in Candor", "url": LINK}],
            },
        }
    ],
}


def test_team_notice_is_posted_to_slack_and_teams_with_exact_payloads(
    organization, channels, fake_providers, run_worker
):
    with time_machine.travel(T0, tick=False):
        assert notify_overdue(organization) == 2
        run_worker()

    assert fake_providers.slack_posts() == [SLACK_PAYLOAD]
    assert fake_providers.teams_posts() == [TEAMS_PAYLOAD]
    slack_request = next(request for request in fake_providers.requests if request.channel == "slack")
    assert slack_request.path == "/services/T0001/B0001/slacksecret"
    statuses = dict(Message.objects.values_list("channel", "status"))
    assert statuses == {"slack": MessageStatus.SENT, "teams": MessageStatus.SENT}
    assert set(Message.objects.values_list("to_address", flat=True)) == {"#incidents", "Incident room"}


def test_notifying_the_same_source_twice_posts_once(organization, channels, fake_providers, run_worker):
    with time_machine.travel(T0, tick=False):
        notify_overdue(organization)
        assert notify_overdue(organization) == 0
        run_worker()
    assert len(fake_providers.slack_posts()) == 1
    assert len(fake_providers.teams_posts()) == 1


def test_500_and_429_are_retried_later_then_posted(organization, channels, fake_providers, run_worker):
    fake_providers.fail_next(1, "500", "slack")
    fake_providers.fail_next(1, "429", "teams", retry_after_seconds=90)
    with time_machine.travel(T0, tick=False) as clock:
        notify_overdue(organization)
        run_worker()
        slack = Message.objects.get(channel="slack")
        teams = Message.objects.get(channel="teams")
        assert (slack.status, slack.error_code, slack.last_error) == ("queued", "http-500", "HTTP 500: rollup_error")
        assert (teams.status, teams.error_code) == ("queued", "http-429")
        assert teams.next_attempt_at >= T0 + dt.timedelta(seconds=90)  # Slack's and Teams' Retry-After is obeyed
        assert fake_providers.slack_posts() == fake_providers.teams_posts() == []

        clock.shift(dt.timedelta(seconds=60))
        run_worker()  # Slack's backoff (at most 7.5 s) has passed; Teams asked for 90 s
        assert Message.objects.get(channel="slack").status == "sent"
        assert Message.objects.get(channel="teams").status == "queued"

        clock.shift(dt.timedelta(seconds=60))
        run_worker()

    assert fake_providers.slack_posts() == [SLACK_PAYLOAD]
    assert fake_providers.teams_posts() == [TEAMS_PAYLOAD]
    assert dict(Message.objects.values_list("channel", "attempts")) == {"slack": 2, "teams": 2}
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


def test_410_gives_up_at_once_and_says_why(organization, channels, fake_providers, run_worker):
    fake_providers.fail_next(1, "410", "slack")
    fake_providers.fail_next(1, "410", "teams")
    with time_machine.travel(T0, tick=False) as clock:
        notify_overdue(organization)
        run_worker()
        clock.shift(dt.timedelta(hours=2))
        run_worker()

    slack = Message.objects.get(channel="slack")
    assert (slack.status, slack.attempts, slack.error_code) == ("failed", 1, "http-410")
    assert slack.last_error == "HTTP 410: channel_is_archived"
    teams = Message.objects.get(channel="teams")
    assert (teams.status, teams.attempts, teams.error_code) == ("failed", 1, "http-410")
    assert len([request for request in fake_providers.requests if request.channel in ("slack", "teams")]) == 2


def test_a_playbook_channel_hears_only_its_playbook(organization, channels, fake_providers, run_worker):
    teams = channels[1]
    teams.scope = "playbook:recall-eu-product"
    teams.save()
    with time_machine.travel(T0, tick=False):
        notify_overdue(organization, source="promise:1:escalation", scopes=("playbook:outage-standard",))
        notify_overdue(organization, source="promise:2:escalation", scopes=("playbook:recall-eu-product",))
        run_worker()
    assert len(fake_providers.slack_posts()) == 2  # organisation-wide
    assert len(fake_providers.teams_posts()) == 1
    assert Message.objects.get(channel="teams").source == "promise:2:escalation"


def test_an_inactive_channel_and_another_organisation_s_channel_get_nothing(
    organization, other_organization, channels, fake_providers, run_worker
):
    slack, teams = channels
    slack.is_active = False
    slack.save()
    teams.organization = other_organization
    teams.save()
    with time_machine.travel(T0, tick=False):
        assert notify_overdue(organization) == 0
        run_worker()
    assert fake_providers.slack_posts() == fake_providers.teams_posts() == []


def test_team_members_still_get_email_beside_the_channels(organization, alice, channels, fake_providers, run_worker):
    alice.email = "alice@northwind.example"
    alice.save()
    with time_machine.travel(T0, tick=False):
        queued = team_notify(
            organization=organization,
            users=[alice],
            topic="incident:7",
            source="team:reply:1",
            subject="Reply from Anna",
            body="Anna replied by SMS: when?",
            link=LINK,
            action="Read the reply and answer the client.",
        )
        run_worker()
    assert queued == 3
    assert sorted(Message.objects.values_list("channel", "status")) == [
        ("email", "sent"),
        ("slack", "sent"),
        ("teams", "sent"),
    ]
