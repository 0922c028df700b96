"""Team notices speak each member's language and timezone; the team channels the organisation's."""

import pytest
import time_machine

from comms.models import Message, TeamChannel
from comms.notifications import member_language
from comms.rendering import sms_size
from playbooks.promises.services import Action, incident_team_notify, promise_check
from tests.conftest import make_client, make_contact
from tests.playbooks.test_cadence import MINUTE, T0, make_playbook, start_incident

URL = "http://localhost:8000/incidents/{pk}/"


@pytest.fixture
def alice_in_german(alice):
    """Alice reads the console in German, in the organisation's timezone (Europe/Berlin)."""
    alice.language, alice.email, alice.phone = "de", "alice@northwind.example", "+4915100000001"
    alice.save()
    return alice


@pytest.fixture
def frank_in_new_york(frank):
    """Frank keeps the organisation's language (English) and works from New York."""
    frank.timezone, frank.email = "America/New_York", "frank@northwind.example"
    frank.save()
    return frank


@pytest.fixture
def slack(organization):
    return TeamChannel.objects.create(
        organization=organization, kind="slack", name="#incidents", webhook_url="https://hooks.slack.com/services/T/B/x"
    )


def reminder_words(user, channel):
    content = Message.objects.get(source__endswith=":reminder", user=user, channel=channel).content
    return content.language, content.subject, content.body


def test_a_german_and_an_english_member_get_the_same_reminder_each_in_their_language_and_time(
    organization, alice_in_german, frank_in_new_york, slack
):
    make_contact(make_client(organization, tags=["payments"]), "Anna Schmidt")
    incident, update = start_incident(make_playbook(organization), alice_in_german, frank_in_new_york)
    link = URL.format(pk=incident.pk)
    with time_machine.travel(T0 + 20 * MINUTE, tick=False):  # due at 09:30 UTC
        assert promise_check(update=update, now=T0 + 20 * MINUTE) == Action.REMINDER

    assert reminder_words(alice_in_german, "email") == (
        "de",
        "[Northwind] Update fällig in 10 Min.: Payments API errors",
        "Den Kunden wurde das nächste Update bis 24.11., 10:30 Uhr CET zugesagt. Wird bis dahin nichts "
        "veröffentlicht, alarmiert Candor den Commander und den stellvertretenden Commander, danach die Geschäftsleitung."
        f"\n\nVorfall #{incident.pk}: Payments API errors\n\n{link}",
    )
    sms = reminder_words(alice_in_german, "sms")[2]
    assert sms.startswith(
        "[Northwind] Update fällig in 10 Min.: Payments API errors. Den Kunden wurde das nächste Update bis "
        "24.11., 10:30 Uhr CET zugesagt."
    )
    assert sms.endswith(f"... {link}") and sms_size(sms).segments <= 2
    assert reminder_words(frank_in_new_york, "email") == (
        "en",
        "[Northwind] Update due in 10 min: Payments API errors",
        "Clients were promised the next update by 04:30 EST, 24 Nov. If nothing is published by then, Candor "
        f"alerts the commander and backup, then leadership.\n\nIncident #{incident.pk}: Payments API errors\n\n{link}",
    )
    # One post in the team channel, in the organisation's language and timezone.
    post = Message.objects.get(source__endswith=":reminder", team_channel=slack)
    assert post.content.language == "en"
    assert post.content.body.startswith("Clients were promised the next update by 10:30 CET, 24 Nov.")
    assert post.substitutions["-action-"] == "Publish the next update before 10:30 CET, 24 Nov."

    # Running it again (a timer twice, the same notice twice) queues nothing new.
    reminders = Message.objects.filter(source=f"promise:{update.pk}:reminder")
    assert reminders.count() == 4  # Alice's email and SMS, Frank's email (no phone), the Slack post
    with time_machine.travel(T0 + 21 * MINUTE, tick=False):
        assert promise_check(update=update, now=T0 + 21 * MINUTE) == Action.NOTHING
        incident_team_notify(
            incident=incident, source=f"promise:{update.pk}:reminder", subject="Again", body="Again", action="Again"
        )
    assert reminders.count() == 4


def test_a_member_without_a_language_reads_the_organisations_when_the_console_speaks_it(organization, alice):
    organization.default_language = "pt-br"
    assert member_language(alice, organization) == "pt-br"
    organization.default_language = "fr"  # clients may read French; the console does not speak it
    assert member_language(alice, organization) == "en"
    alice.language = "ja"
    assert member_language(alice, organization) == "ja"
