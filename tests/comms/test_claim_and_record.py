"""What the email worker asks of the database per batch: one statement claims the batch with
everything sending it needs (the words, the recipients' names, its lease), one statement records
each slice, and nothing is asked per message. On PostgreSQL the claim is a single statement; on
SQLite it is the lease's INSERT and one UPDATE ... RETURNING."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from comms.leases import heartbeat, lease_release
from comms.models import Lease, Message, MessageContent, MessageStatus
from comms.services import ContentSpec, RecipientSpec, _claim, deliver_batch, messages_queue
from tests.conftest import make_client, make_contact, make_user

CONTENTS = {
    "en": ContentSpec("email", "en", "Payments outage", "Dear -contact_name-, see -status_url-"),
    "de": ContentSpec("email", "de", "Zahlungsstörung", "Guten Tag -contact_name-, siehe -status_url-"),
}


def statements(queries):
    """The statements sent, without the savepoints of the test's own transaction."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
    ]


def claim_statements():
    return 1 if connection.vendor == "postgresql" else 2  # SQLite: the lease's INSERT beside it


def queue_emails(organization, count, *, source="update:1", language=None):
    client = make_client(organization)
    contacts = [
        make_contact(client, f"Reader {number}", email=f"reader{number}@example.com") for number in range(count)
    ]
    recipients = [
        RecipientSpec(
            contact=contact,
            channel="email",
            content_key=language or ("de" if number % 3 == 0 else "en"),
            substitutions={"-contact_name-": contact.name, "-status_url-": f"https://candor.example/s/{contact.pk}"},
        )
        for number, contact in enumerate(contacts)
    ]
    messages_queue(
        organization=organization, topic="incident:1", source=source, contents=CONTENTS, recipients=recipients
    )
    return contacts


def test_one_statement_claims_the_batch_with_its_words_names_and_lease(organization):
    contacts = queue_emails(organization, 4)
    member = make_user("marta", organization, Role.COMMANDER, first_name="Marta", last_name="Ortiz")
    Message.objects.create(
        organization=organization,
        user=member,
        channel="email",
        topic="incident:1",
        source="reminder:1",
        content=MessageContent.objects.create(source="reminder:1", channel="email", language="en", body="Due now"),
        to_address="marta@example.com",
    )

    with CaptureQueriesContext(connection) as queries:
        claimed = _claim("email", 100, timezone.now())

    assert len(statements(queries)) == claim_statements()
    by_address = {message.to_address: message for message in claimed}
    assert len(claimed) == 5
    reader = by_address["reader1@example.com"]
    assert (reader.to_name, reader.subject, reader.body, reader.is_to_contact) == (
        "Reader 1",
        "Payments outage",
        "Dear -contact_name-, see -status_url-",
        True,
    )
    assert reader.substitutions == {
        "-contact_name-": "Reader 1",
        "-status_url-": f"https://candor.example/s/{contacts[1].pk}",
    }
    german = by_address["reader3@example.com"]
    assert (german.subject, german.body) == ("Zahlungsstörung", "Guten Tag -contact_name-, siehe -status_url-")
    marta = by_address["marta@example.com"]
    assert (marta.to_name, marta.subject, marta.body, marta.is_to_contact) == ("Marta Ortiz", "", "Due now", False)
    assert {(message.attempts, message.may_have_been_sent) for message in claimed} == {(1, False)}
    # Every row is ours under one lease, written by the same statement and renewed by this process.
    [token] = {message.claim for message in claimed}
    assert set(Message.objects.values_list("status", "claim")) == {(MessageStatus.SENDING, token)}
    assert Lease.objects.filter(token=token).exists()
    assert token in heartbeat.tokens
    lease_release(token=token)


def test_a_claim_that_finds_nothing_leaves_no_lease(organization):
    queue_emails(organization, 2)

    assert _claim("sms", 100, timezone.now()) == []

    assert not Lease.objects.exists()
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.QUEUED}


@pytest.mark.parametrize("count", [7, 15])
def test_an_email_batch_costs_a_claim_and_one_record_per_slice_whatever_its_size(
    organization, provider_settings, fake_providers, count
):
    provider_settings.CANDOR_EMAIL_SLICE_SIZE = 5
    queue_emails(organization, count)

    with CaptureQueriesContext(connection) as queries:
        assert deliver_batch(channel="email") == count

    slices = -(-count // 5)
    sent = statements(queries)
    # Taking back expired claims, the claim, one record per slice, the lease's release.
    assert len(sent) == 1 + claim_statements() + slices + 1, sent
    assert sum(1 for sql in sent if "SET status = 'sent'" in sql or "sent(id, provider_message_id)" in sql) == slices
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    received = [p for mail in fake_providers.sendgrid_mails() for p in mail["personalizations"]]
    assert sorted(p["to"][0]["email"] for p in received) == sorted(f"reader{n}@example.com" for n in range(count))
    assert not Lease.objects.exists()


def test_the_worker_sends_batch_after_batch_on_one_kept_alive_connection(
    organization, provider_settings, fake_providers
):
    queue_emails(organization, 9, language="en")  # one content: one request per batch

    # Three batches, each claimed, sent and recorded on its own, as a worker's tasks run them.
    assert [deliver_batch(channel="email", limit=3) for _ in range(4)] == [3, 3, 3, 0]

    requests = fake_providers.requests
    assert [request.status for request in requests] == [202, 202, 202]
    # The fake saw one TCP connection (one client port) carry the three batches' requests.
    assert len({request.peer for request in requests}) == 1
    received = sorted(p["to"][0]["email"] for mail in fake_providers.sendgrid_mails() for p in mail["personalizations"])
    assert received == sorted(f"reader{n}@example.com" for n in range(9))
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
