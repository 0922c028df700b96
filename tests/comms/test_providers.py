"""The providers against the fake Twilio/SendGrid server: real SDKs, real HTTP, loopback only.

The cast: Alice and Bob read SMS, Charlie has unsubscribed from SMS (replied STOP), Dana's
number does not exist.
"""

import logging
import time

import pytest

from comms.providers import (
    Outcome,
    OutgoingEmail,
    OutgoingSms,
    get_email_provider,
    get_sms_provider,
)
from tests.comms.conftest import (
    TWILIO_ACCOUNT_SID,
    TWILIO_FROM_NUMBER,
    TWILIO_MESSAGING_SERVICE_SID,
)

ALICE = "+4915112345671"
BOB = "+4915112345672"
CHARLIE = "+4915112345673"
DANA = "+4915112345674"


def sms(message_id, to=ALICE, body="Outage update: payments are delayed.", status_callback_url=""):
    return OutgoingSms(message_id=message_id, to=to, body=body, status_callback_url=status_callback_url)


def email(message_id, to_email=None, subject="Payments outage: update 2", body=None, **extra):
    extra.setdefault("to_name", f"Contact {message_id}")
    extra.setdefault("substitutions", {"-status_url-": f"https://candor.example/s/{message_id}"})
    extra.setdefault(
        "headers",
        {
            "List-Unsubscribe": f"<https://candor.example/u/{message_id}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    return OutgoingEmail(
        message_id=message_id,
        to_email=to_email or f"contact{message_id}@example.com",
        subject=subject,
        body=body if body is not None else "Payments are delayed. Follow along: -status_url-",
        **extra,
    )


# Twilio


def test_twilio_posts_to_body_messaging_service_and_status_callback(provider_settings, fake_providers):
    results = get_sms_provider().send_sms(
        [sms(1, status_callback_url="https://candor.example/webhooks/twilio/status/1")]
    )

    [sent] = fake_providers.twilio_messages()
    assert sent == {
        "To": ALICE,
        "Body": "Outage update: payments are delayed.",
        "MessagingServiceSid": TWILIO_MESSAGING_SERVICE_SID,
        "StatusCallback": "https://candor.example/webhooks/twilio/status/1",
    }
    [request] = fake_providers.requests
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"
    [result] = results
    assert result.outcome == Outcome.ACCEPTED
    assert result.message_id == 1
    assert result.provider_message_id.startswith("SM") and len(result.provider_message_id) == 34


def test_twilio_sends_from_the_number_without_a_messaging_service(provider_settings, fake_providers):
    provider_settings.TWILIO_MESSAGING_SERVICE_SID = ""
    provider_settings.TWILIO_FROM_NUMBER = TWILIO_FROM_NUMBER

    [result] = get_sms_provider().send_sms([sms(1)])

    assert result.outcome == Outcome.ACCEPTED
    assert fake_providers.twilio_messages() == [
        {"To": ALICE, "Body": "Outage update: payments are delayed.", "From": TWILIO_FROM_NUMBER}
    ]


def test_twilio_unsubscribed_recipient_is_permanent_and_opted_out(provider_settings, fake_providers):
    fake_providers.twilio_error_for(CHARLIE, 21610)

    results = get_sms_provider().send_sms([sms(1, to=ALICE), sms(2, to=CHARLIE), sms(3, to=BOB)])

    assert [result.message_id for result in results] == [1, 2, 3]
    assert [result.outcome for result in results] == [
        Outcome.ACCEPTED,
        Outcome.PERMANENT,
        Outcome.ACCEPTED,
    ]
    charlie = results[1]
    assert charlie.recipient_opted_out is True
    assert charlie.error_code == "21610"
    assert "unsubscribed" in charlie.error


def test_twilio_invalid_number_is_permanent_without_opting_out(provider_settings, fake_providers):
    fake_providers.twilio_error_for(DANA, 21211)

    [dana, malformed] = get_sms_provider().send_sms([sms(1, to=DANA), sms(2, to="0151 not a number")])

    for result in (dana, malformed):
        assert result.outcome == Outcome.PERMANENT
        assert result.error_code == "21211"
        assert result.recipient_opted_out is False


def test_twilio_server_error_is_transient(provider_settings, fake_providers):
    fake_providers.fail_next(1, "500", channel="sms")

    [result] = get_sms_provider().send_sms([sms(1)])

    assert result.outcome == Outcome.TRANSIENT
    assert result.retry_after_seconds is None
    assert fake_providers.twilio_messages() == []


def test_twilio_too_many_requests_is_transient_after_retry_after(provider_settings, fake_providers):
    fake_providers.fail_next(1, "429", channel="sms", retry_after_seconds=7)

    [result] = get_sms_provider().send_sms([sms(1)])

    assert result.outcome == Outcome.TRANSIENT
    assert result.error_code == "20429"
    assert result.retry_after_seconds == 7


def test_twilio_timeout_is_transient_within_the_timeout_setting(provider_settings, fake_providers):
    fake_providers.fail_next(1, "timeout", channel="sms", hang_seconds=5)

    started = time.monotonic()
    [result] = get_sms_provider().send_sms([sms(1)])

    assert result.outcome == Outcome.TRANSIENT
    assert result.error_code == "timeout"
    assert time.monotonic() - started < 2.5  # PROVIDER_TIMEOUT_SECONDS is 0.5, the fake hangs 5 s


def test_twilio_connection_reset_is_transient(provider_settings, fake_providers):
    # Two: on a kept-alive connection from an earlier test, the first reset is sent again at once.
    fake_providers.fail_next(2, "reset", channel="sms")

    [result] = get_sms_provider().send_sms([sms(1)])

    assert result.outcome == Outcome.TRANSIENT
    assert result.error_code == "connection"
    assert fake_providers.twilio_messages() == []


def sms_posts(fake_providers):
    return [request for request in fake_providers.requests if request.channel == "sms"]


@pytest.mark.parametrize("http", ["aiohttp", "threads"])
def test_twilio_after_the_server_closed_an_idle_connection_sends_on_a_new_one(provider_settings, fake_providers, http):
    provider_settings.CANDOR_TWILIO_HTTP = http
    provider_settings.CANDOR_SMS_CONCURRENCY = 1  # one connection, kept alive between the sends
    provider = get_sms_provider()
    [first] = provider.send_sms([sms(1, to=ALICE)])
    assert fake_providers.close_idle_connections() >= 1  # earlier tests' providers hold some too

    [second] = provider.send_sms([sms(2, to=BOB)])

    assert (first.outcome, second.outcome) == (Outcome.ACCEPTED, Outcome.ACCEPTED)
    alice, bob = sms_posts(fake_providers)  # one POST per message
    assert (alice.form["To"], alice.status, bob.form["To"], bob.status) == (ALICE, 201, BOB, 201)
    assert bob.peer != alice.peer


def aiohttp_provider_with_a_kept_alive_connection(provider_settings):
    """The aiohttp provider with one connection, kept alive after sending Alice's SMS on it."""
    provider_settings.CANDOR_TWILIO_HTTP = "aiohttp"
    provider_settings.CANDOR_SMS_CONCURRENCY = 1
    provider = get_sms_provider()
    provider.send_sms([sms(1, to=ALICE)])
    return provider


def test_twilio_request_cut_off_by_a_closed_kept_alive_connection_is_sent_again_at_once(
    provider_settings, fake_providers
):
    # The server's idle close crossed the request: the connection closes as the request arrives.
    provider = aiohttp_provider_with_a_kept_alive_connection(provider_settings)
    fake_providers.fail_next(1, "close", channel="sms")

    [result] = provider.send_sms([sms(2, to=BOB)])

    assert result.outcome == Outcome.ACCEPTED
    assert fake_providers.closed_unanswered == 1
    alice, bob = sms_posts(fake_providers)  # handed over in the same call, exactly once
    assert (bob.form["To"], bob.status) == (BOB, 201)
    assert [message["sid"] for message in fake_providers.twilio_held()][-1] == result.provider_message_id
    # The request may have reached Twilio: it was asked before the SMS went again.
    [lookup] = [request for request in fake_providers.requests if request.method == "GET"]
    assert lookup.received_at < bob.received_at
    assert bob.peer != alice.peer


def test_twilio_message_taken_before_the_kept_alive_connection_closed_is_not_sent_again(
    provider_settings, fake_providers
):
    provider = aiohttp_provider_with_a_kept_alive_connection(provider_settings)
    fake_providers.fail_next(1, "taken-unanswered", channel="sms")

    [result] = provider.send_sms([sms(2, to=BOB)])

    assert result.outcome == Outcome.ACCEPTED
    _, bob = sms_posts(fake_providers)
    assert (bob.form["To"], bob.status) == (BOB, None)  # taken, never answered, not sent again
    assert [message["sid"] for message in fake_providers.twilio_held()][-1] == result.provider_message_id
    assert len(fake_providers.twilio_held()) == 2


def test_twilio_too_many_requests_on_a_new_connection_after_a_cut_off_keeps_retry_after(
    provider_settings, fake_providers
):
    provider = aiohttp_provider_with_a_kept_alive_connection(provider_settings)
    fake_providers.fail_next(1, "close", channel="sms")
    fake_providers.fail_next(1, "429", channel="sms", retry_after_seconds=7)

    [result] = provider.send_sms([sms(2, to=BOB)])

    assert (result.outcome, result.error_code, result.retry_after_seconds) == (Outcome.TRANSIENT, "20429", 7)
    assert len(sms_posts(fake_providers)) == 2  # Alice's, and Bob's answered 429: no third try


def test_twilio_keeps_a_bounded_number_of_requests_in_flight(provider_settings, fake_providers):
    provider_settings.CANDOR_SMS_CONCURRENCY = 10
    fake_providers.latency_ms = 50

    results = get_sms_provider().send_sms(
        [sms(message_id, to=f"+49151000{message_id:05d}") for message_id in range(50)]
    )

    assert [result.message_id for result in results] == list(range(50))
    assert all(result.outcome == Outcome.ACCEPTED for result in results)
    assert len({result.provider_message_id for result in results}) == 50
    assert 1 < fake_providers.max_in_flight <= 10


def test_twilio_provider_is_reused_until_its_settings_change(provider_settings):
    first = get_sms_provider()
    assert get_sms_provider() is first

    provider_settings.PROVIDER_TIMEOUT_SECONDS = 2

    assert get_sms_provider() is not first


# SendGrid


def test_sendgrid_sends_2500_recipients_of_one_content_in_three_requests(provider_settings, fake_providers):
    messages = [email(message_id) for message_id in range(1, 2501)]

    results = get_email_provider().send_email(messages)

    mails = fake_providers.sendgrid_mails()
    assert sorted(len(mail["personalizations"]) for mail in mails) == [500, 1000, 1000]
    personalizations = [p for mail in mails for p in mail["personalizations"]]
    assert sorted(int(p["custom_args"]["candor_message_id"]) for p in personalizations) == list(range(1, 2501))
    seventh = next(p for p in personalizations if p["custom_args"]["candor_message_id"] == "7")
    assert seventh == {
        "to": [{"email": "contact7@example.com", "name": "Contact 7"}],
        "custom_args": {"candor_message_id": "7"},
        "substitutions": {"-status_url-": "https://candor.example/s/7"},
        "headers": {
            "List-Unsubscribe": "<https://candor.example/u/7>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    for mail in mails:
        assert mail["from"] == {"email": "updates@northwind.example", "name": "Northwind Updates"}
        assert mail["subject"] == "Payments outage: update 2"
        assert mail["content"] == [{"type": "text/plain", "value": "Payments are delayed. Follow along: -status_url-"}]
        assert "reply_to" not in mail
    assert [result.message_id for result in results] == list(range(1, 2501))
    assert all(result.outcome == Outcome.ACCEPTED for result in results)
    result_by_id = {result.message_id: result for result in results}
    for request in fake_providers.requests:
        for personalization in request.json["personalizations"]:
            result = result_by_id[int(personalization["custom_args"]["candor_message_id"])]
            assert result.provider_message_id == request.response_headers["X-Message-Id"]


def test_sendgrid_sends_different_contents_in_separate_requests(provider_settings, fake_providers):
    messages = [
        email(1, subject="Update 2", body="English body -status_url-"),
        email(
            2,
            subject="Aktualisierung 2",
            body="Deutscher Text -status_url-",
            reply_to="desk@northwind.example",
        ),
        email(3, subject="Update 2", body="English body -status_url-"),
    ]

    results = get_email_provider().send_email(messages)

    mails = sorted(fake_providers.sendgrid_mails(), key=lambda mail: mail["subject"])
    assert [mail["subject"] for mail in mails] == ["Aktualisierung 2", "Update 2"]
    german, english = mails
    assert [p["custom_args"]["candor_message_id"] for p in german["personalizations"]] == ["2"]
    assert german["reply_to"] == {"email": "desk@northwind.example"}
    assert [p["custom_args"]["candor_message_id"] for p in english["personalizations"]] == [
        "1",
        "3",
    ]
    assert [result.outcome for result in results] == [Outcome.ACCEPTED] * 3
    assert results[0].provider_message_id == results[2].provider_message_id != results[1].provider_message_id


def test_sendgrid_puts_a_repeated_address_in_another_request(provider_settings, fake_providers):
    messages = [email(1, to_email="alice@example.com"), email(2, to_email="Alice@example.com")]

    results = get_email_provider().send_email(messages)

    assert [len(mail["personalizations"]) for mail in fake_providers.sendgrid_mails()] == [1, 1]
    assert [result.outcome for result in results] == [Outcome.ACCEPTED, Outcome.ACCEPTED]


def test_sendgrid_quotes_a_recipient_name_with_a_comma(provider_settings, fake_providers):
    get_email_provider().send_email([email(1, to_name="Schmidt, Anna")])

    [mail] = fake_providers.sendgrid_mails()
    assert mail["personalizations"][0]["to"] == [{"email": "contact1@example.com", "name": '"Schmidt, Anna"'}]


def test_sendgrid_server_error_makes_every_message_of_that_request_transient(provider_settings, fake_providers):
    fake_providers.fail_next(1, "500", channel="email")
    messages = [
        email(1, subject="A"),
        email(2, subject="B"),
        email(3, subject="A"),
        email(4, subject="B"),
    ]

    results = get_email_provider().send_email(messages)

    outcomes = {(message.subject, result.outcome) for message, result in zip(messages, results, strict=True)}
    assert outcomes in (
        {("A", Outcome.TRANSIENT), ("B", Outcome.ACCEPTED)},
        {("A", Outcome.ACCEPTED), ("B", Outcome.TRANSIENT)},
    )
    assert {result.error_code for result in results if result.outcome == Outcome.TRANSIENT} == {"http-500"}


def test_sendgrid_too_many_requests_is_transient_after_retry_after(provider_settings, fake_providers):
    fake_providers.fail_next(1, "429", channel="email", retry_after_seconds=7)

    results = get_email_provider().send_email([email(1), email(2)])

    assert [result.outcome for result in results] == [Outcome.TRANSIENT, Outcome.TRANSIENT]
    assert [result.retry_after_seconds for result in results] == [7, 7]


def test_sendgrid_bad_request_is_permanent_for_the_whole_request(provider_settings, fake_providers):
    provider_settings.SENDGRID_FROM_EMAIL = ""

    results = get_email_provider().send_email([email(1), email(2)])

    assert [result.outcome for result in results] == [Outcome.PERMANENT, Outcome.PERMANENT]
    assert results[0].error_code == "http-400"
    assert "from.email" in results[0].error


def test_sendgrid_malformed_address_fails_alone_and_the_others_are_retried(provider_settings, fake_providers):
    results = get_email_provider().send_email([email(1), email(2, to_email="not-an-address"), email(3)])

    assert [result.outcome for result in results] == [
        Outcome.TRANSIENT,
        Outcome.PERMANENT,
        Outcome.TRANSIENT,
    ]
    assert results[0].retry_after_seconds == 0
    assert "valid address" in results[1].error


def test_sendgrid_timeout_is_transient_within_the_timeout_setting(provider_settings, fake_providers):
    fake_providers.fail_next(1, "timeout", channel="email", hang_seconds=5)

    started = time.monotonic()
    results = get_email_provider().send_email([email(1), email(2)])

    assert [(result.outcome, result.error_code) for result in results] == [(Outcome.TRANSIENT, "timeout")] * 2
    assert time.monotonic() - started < 2.5


def test_sendgrid_connection_reset_is_transient(provider_settings, fake_providers):
    fake_providers.fail_next(1, "reset", channel="email")

    [result] = get_email_provider().send_email([email(1)])

    assert result.outcome == Outcome.TRANSIENT
    assert result.error_code == "connection"


def test_sendgrid_reuses_one_connection_across_batches(provider_settings, fake_providers):
    provider = get_email_provider()

    provider.send_email([email(1), email(2)])
    provider.send_email([email(3)])
    provider.send_email([email(4, subject="Another content")])

    requests = fake_providers.requests
    assert [request.status for request in requests] == [202, 202, 202]
    # One TCP connection (one client port) carried all three requests: none was opened per request.
    assert len({request.peer for request in requests}) == 1
    assert all(request.headers.get("connection", "keep-alive").lower() != "close" for request in requests)


def test_sendgrid_body_is_the_sdks_request_with_the_json_serialized_by_orjson(provider_settings, fake_providers):
    get_email_provider().send_email([email(1, subject="Störung: Zahlungen", to_name="Jürgen 佐藤")])

    [request] = fake_providers.requests
    assert request.method == "POST"
    assert request.path == "/v3/mail/send"
    assert request.headers["authorization"] == "Bearer SG.test"
    assert request.headers["user-agent"].startswith("sendgrid/")
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert int(request.headers["content-length"]) == len(request.body)
    # UTF-8, not \u escapes: the bytes orjson wrote, parsed back to the request we built.
    assert "Störung: Zahlungen".encode() in request.body
    assert request.json["personalizations"][0]["to"] == [{"email": "contact1@example.com", "name": "Jürgen 佐藤"}]
    assert request.json["subject"] == "Störung: Zahlungen"


def test_sendgrid_after_the_server_closed_the_connection_sends_on_a_new_one(provider_settings, fake_providers):
    provider = get_email_provider()
    fake_providers.fail_next(1, "reset", channel="email")
    [lost] = provider.send_email([email(1)])

    [result] = provider.send_email([email(2)])

    assert (lost.outcome, lost.error_code) == (Outcome.TRANSIENT, "connection")
    assert result.outcome == Outcome.ACCEPTED
    first, second = fake_providers.requests
    assert second.status == 202 and second.peer != first.peer


def test_sendgrid_refused_connection_is_transient(provider_settings, fake_providers):
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    provider_settings.SENDGRID_API_HOST = f"http://127.0.0.1:{port}"

    [result] = get_email_provider().send_email([email(1)])

    assert (result.outcome, result.error_code) == (Outcome.TRANSIENT, "connection")


def test_sendgrid_sends_nothing_for_no_messages(provider_settings, fake_providers):
    assert get_email_provider().send_email([]) == []
    assert get_sms_provider().send_sms([]) == []
    assert fake_providers.requests == []


# Console


@pytest.fixture
def console_settings(settings, tmp_path):
    settings.CANDOR_SMS_PROVIDER = "console"
    settings.CANDOR_EMAIL_PROVIDER = "console"
    settings.CANDOR_OUTBOX_DIR = tmp_path / "outbox"
    return settings


def test_console_writes_each_sms_to_the_outbox_and_the_log(console_settings, caplog):
    caplog.set_level(logging.INFO, logger="candor.outbox")

    results = get_sms_provider().send_sms(
        [
            sms(1, status_callback_url="https://candor.example/webhooks/twilio/status/1"),
            sms(2, to=BOB),
        ]
    )

    assert [(result.outcome, result.provider_message_id) for result in results] == [
        (Outcome.ACCEPTED, "console-1"),
        (Outcome.ACCEPTED, "console-2"),
    ]
    written = (console_settings.CANDOR_OUTBOX_DIR / "sms" / "1.txt").read_text()
    assert written.startswith(f"To: {ALICE}\n")
    assert "Status-Callback: https://candor.example/webhooks/twilio/status/1\n" in written
    assert written.endswith("\n\nOutage update: payments are delayed.\n")
    assert (console_settings.CANDOR_OUTBOX_DIR / "sms" / "2.txt").exists()
    assert "Outage update: payments are delayed." in caplog.text


def test_console_email_applies_substitutions_and_headers(console_settings):
    message = email(
        5,
        subject="Update for -name-",
        body="Hello -name-, see -status_url-",
        substitutions={"-name-": "Anna", "-status_url-": "https://candor.example/s/5 (-name-)"},
        reply_to="desk@northwind.example",
    )

    [result] = get_email_provider().send_email([message])

    assert result.outcome == Outcome.ACCEPTED
    assert result.provider_message_id == "console-5"
    written = (console_settings.CANDOR_OUTBOX_DIR / "email" / "5.txt").read_text()
    assert "To: Contact 5 <contact5@example.com>\n" in written
    assert "Subject: Update for Anna\n" in written
    assert "Reply-To: desk@northwind.example\n" in written
    assert "List-Unsubscribe: <https://candor.example/u/5>\n" in written
    # One pass: a value containing a token is not substituted again.
    assert written.endswith("\n\nHello Anna, see https://candor.example/s/5 (-name-)\n")


def test_console_resending_a_message_overwrites_its_file(console_settings):
    provider = get_email_provider()
    provider.send_email([email(9, subject="First")])
    provider.send_email([email(9, subject="Second")])

    files = list((console_settings.CANDOR_OUTBOX_DIR / "email").iterdir())
    assert [path.name for path in files] == ["9.txt"]
    assert "Subject: Second\n" in files[0].read_text()
