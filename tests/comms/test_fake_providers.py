"""The fake Twilio/SendGrid server itself, spoken to with plain http.client on loopback."""

import base64
import http.client
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from tests.comms.conftest import TWILIO_ACCOUNT_SID

BASIC_AUTH = "Basic " + base64.b64encode(f"{TWILIO_ACCOUNT_SID}:test-auth-token".encode()).decode()
MESSAGES_PATH = f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"


def connect(fake, timeout=5):
    address = urlsplit(fake.base_url)
    return http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)


def post_sms(connection, form, authorization=BASIC_AUTH):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if authorization:
        headers["Authorization"] = authorization
    connection.request("POST", MESSAGES_PATH, body=urlencode(form), headers=headers)
    response = connection.getresponse()
    return response, json.loads(response.read() or b"null")


def post_mail(connection, mail, authorization="Bearer SG.test"):
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    connection.request("POST", "/v3/mail/send", body=json.dumps(mail), headers=headers)
    response = connection.getresponse()
    return response, json.loads(response.read() or b"null")


def mail(recipients=1, **overrides):
    body = {
        "personalizations": [{"to": [{"email": f"contact{i}@example.com"}]} for i in range(recipients)],
        "from": {"email": "updates@northwind.example"},
        "subject": "Update",
        "content": [{"type": "text/plain", "value": "Payments are delayed."}],
    }
    body.update(overrides)
    return body


ALICE_SMS = {"To": "+4915112345671", "MessagingServiceSid": "MG" + "0" * 32, "Body": "Hello Alice"}


def test_twilio_message_is_created_like_twilio_answers(fake_providers):
    response, message = post_sms(connect(fake_providers), ALICE_SMS)

    assert response.status == 201
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["to"] == "+4915112345671"
    assert message["body"] == "Hello Alice"
    assert message["account_sid"] == TWILIO_ACCOUNT_SID
    assert message["num_segments"] == "1"
    assert message["uri"] == f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages/{message['sid']}.json"
    [request] = fake_providers.requests
    assert request.form == ALICE_SMS
    assert request.headers["authorization"] == BASIC_AUTH
    assert fake_providers.twilio_messages() == [ALICE_SMS]


def test_twilio_counts_segments_as_gsm_or_unicode(fake_providers):
    connection = connect(fake_providers)
    _, long_gsm = post_sms(connection, {**ALICE_SMS, "Body": "x" * 161})
    _, unicode = post_sms(connection, {**ALICE_SMS, "Body": "Störung 🚨" * 8})

    assert long_gsm["num_segments"] == "2"
    assert unicode["num_segments"] == "2"


def test_twilio_without_basic_auth_is_401(fake_providers):
    response, error = post_sms(connect(fake_providers), ALICE_SMS, authorization=None)

    assert response.status == 401
    assert error["code"] == 20003
    assert fake_providers.twilio_messages() == []


def test_twilio_error_for_a_number_answers_twilio_error_json(fake_providers):
    fake_providers.twilio_error_for("+4915112345671", 21610)

    response, error = post_sms(connect(fake_providers), ALICE_SMS)

    assert response.status == 400
    assert error == {
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610",
        "status": 400,
    }


def test_twilio_refuses_a_number_that_is_not_e164(fake_providers):
    response, error = post_sms(connect(fake_providers), {**ALICE_SMS, "To": "0151 1234"})

    assert response.status == 400
    assert error["code"] == 21211


def test_sendgrid_mail_is_accepted_with_a_message_id(fake_providers):
    response, body = post_mail(connect(fake_providers), mail(2))

    assert response.status == 202
    assert body is None
    assert response.getheader("X-Message-Id")
    assert fake_providers.sendgrid_mails() == [mail(2)]


def test_sendgrid_without_bearer_token_is_401(fake_providers):
    response, body = post_mail(connect(fake_providers), mail(), authorization=None)

    assert response.status == 401
    assert body["errors"][0]["message"] == "authorization required"


def test_sendgrid_refuses_more_than_1000_personalizations(fake_providers):
    response, body = post_mail(connect(fake_providers), mail(1001))

    assert response.status == 400
    assert body["errors"][0]["field"] == "personalizations"
    assert "limited to 1000 personalizations" in body["errors"][0]["message"]
    assert fake_providers.sendgrid_mails() == []


def test_sendgrid_refuses_a_mail_without_from_or_content(fake_providers):
    response, body = post_mail(connect(fake_providers), mail(**{"from": None, "content": []}))

    assert response.status == 400
    assert {error["field"] for error in body["errors"]} == {"from.email", "content"}


def test_sendgrid_refuses_the_same_address_twice_in_one_request(fake_providers):
    duplicate = mail(personalizations=[{"to": [{"email": "anna@example.com"}]}] * 2)

    response, body = post_mail(connect(fake_providers), duplicate)

    assert response.status == 400
    assert body["errors"][0]["field"] == "personalizations.1.to.0.email"


def test_fail_next_fails_only_the_next_requests_of_its_channel(fake_providers):
    fake_providers.fail_next(2, "500", channel="sms")
    connection = connect(fake_providers)

    mail_response, _ = post_mail(connection, mail())
    statuses = [post_sms(connection, ALICE_SMS)[0].status for _ in range(3)]

    assert mail_response.status == 202
    assert statuses == [500, 500, 201]


def test_fail_next_429_says_when_to_retry(fake_providers):
    fake_providers.fail_next(1, "429", retry_after_seconds=7)

    response, error = post_sms(connect(fake_providers), ALICE_SMS)

    assert response.status == 429
    assert response.getheader("Retry-After") == "7"
    assert error["code"] == 20429


def test_fail_next_timeout_answers_after_the_client_gave_up(fake_providers):
    fake_providers.fail_next(1, "timeout", hang_seconds=0.5)

    with pytest.raises(TimeoutError):
        post_sms(connect(fake_providers, timeout=0.1), ALICE_SMS)

    # Like a provider that got the request and answered late: the SMS counts as sent.
    deadline = time.monotonic() + 3
    while not fake_providers.twilio_messages() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_providers.twilio_messages() == [ALICE_SMS]


def test_fail_next_reset_drops_the_connection_without_an_answer(fake_providers):
    fake_providers.fail_next(1, "reset", channel="email")

    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        post_mail(connect(fake_providers), mail())

    assert fake_providers.requests[0].status is None
    assert post_mail(connect(fake_providers), mail())[0].status == 202


def test_fail_next_close_closes_the_connection_before_the_api_sees_the_request(fake_providers):
    connection = connect(fake_providers)
    post_sms(connection, ALICE_SMS)
    fake_providers.fail_next(1, "close", channel="sms")

    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        post_sms(connection, ALICE_SMS)

    assert fake_providers.closed_unanswered == 1
    assert len(fake_providers.requests) == 1  # the closed one never reached the API
    assert len(fake_providers.twilio_held()) == 1


def test_fail_next_taken_unanswered_holds_the_message_and_closes(fake_providers):
    fake_providers.fail_next(1, "taken-unanswered", channel="sms")

    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        post_sms(connect(fake_providers), ALICE_SMS)

    assert fake_providers.requests[0].status is None
    assert [message["body"] for message in fake_providers.twilio_held()] == ["Hello Alice"]


def test_close_idle_connections_closes_kept_alive_connections(fake_providers):
    connection = connect(fake_providers)
    post_sms(connection, ALICE_SMS)

    assert fake_providers.close_idle_connections() >= 1

    assert connection.sock.recv(1) == b""  # an orderly close: end of stream


def test_connections_are_kept_alive(fake_providers):
    connection = connect(fake_providers)
    post_sms(connection, ALICE_SMS)
    first_socket = connection.sock

    post_sms(connection, ALICE_SMS)

    assert connection.sock is first_socket
    assert len(fake_providers.twilio_messages()) == 2


def test_reset_forgets_requests_failures_and_errors(fake_providers):
    fake_providers.fail_next(5, "500")
    fake_providers.twilio_error_for("+4915112345671", 21610)
    post_sms(connect(fake_providers), {**ALICE_SMS, "To": "+4915112345672"})

    fake_providers.reset()

    assert fake_providers.requests == []
    assert fake_providers.max_in_flight == 0
    assert post_sms(connect(fake_providers), ALICE_SMS)[0].status == 201


def test_serves_hundreds_of_requests_per_second_over_a_few_connections(fake_providers):
    def send(count):
        connection = connect(fake_providers)
        for _ in range(count):
            assert post_sms(connection, ALICE_SMS)[0].status == 201

    threads = [threading.Thread(target=send, args=(100,)) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    assert len(fake_providers.twilio_messages()) == 800
    assert elapsed < 4  # a floor of 200 requests/s, far below what loopback gives


def test_runs_as_a_command_and_prints_its_address(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.providers", "--port", "0", "--latency-ms", "1"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        base_url = re.search(r"http://127\.0\.0\.1:\d+", first_line).group(0)
        address = urlsplit(base_url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
        response, _ = post_sms(connection, ALICE_SMS)
        assert response.status == 201
    finally:
        process.terminate()
        process.wait(timeout=5)
