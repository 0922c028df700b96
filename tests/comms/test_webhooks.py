"""Provider webhooks: signed Twilio status callbacks and inbound SMS, signed SendGrid event batches.

Anna (an SMS and email contact at Acme) is the recipient of every message here.
"""

import concurrent.futures
import contextlib
import itertools
import threading
import time

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailStatus, SmsConsent
from comms.models import InboundKind, InboundMessage, Message, MessageContent, MessageEvent, MessageStatus
from tests.comms.webhook_helpers import PUBLIC_URL, TWILIO_AUTH_TOKEN, SendGridSigner, post_twilio
from tests.conftest import make_client, make_contact

ANNA_PHONE = "+4915112345678"
CANDOR_NUMBER = "+15005550006"
_sources = itertools.count(1)
_sids = itertools.count(1)


@pytest.fixture(scope="module")
def sendgrid_signer():
    return SendGridSigner()


@pytest.fixture(autouse=True)
def webhook_settings(settings, sendgrid_signer):
    settings.CANDOR_PUBLIC_URL = PUBLIC_URL
    settings.TWILIO_AUTH_TOKEN = TWILIO_AUTH_TOKEN
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = sendgrid_signer.public_key
    return settings


@pytest.fixture
def anna(organization):
    return make_contact(make_client(organization), "Anna Schmidt", phone=ANNA_PHONE)


def make_message(contact, *, channel="sms", topic="incident:999", status=MessageStatus.SENT, provider_message_id=""):
    source = f"update:{next(_sources)}"
    body = "Lot 7 is recalled. Details: -status_url-"
    content = MessageContent.objects.create(
        source=source,
        channel=channel,
        language="en",
        body=body,
        digest=MessageContent.digest_of(channel=channel, language="en", subject="", body=body),
    )
    now = timezone.now()
    return Message.objects.create(
        organization=contact.client.organization,
        contact=contact,
        channel=channel,
        topic=topic,
        source=source,
        content=content,
        to_address=contact.phone if channel == "sms" else contact.email,
        status=status,
        provider="twilio" if channel == "sms" else "sendgrid",
        provider_message_id=provider_message_id or (new_sid() if channel == "sms" else ""),
        sent_at=now,
    )


def new_sid(prefix="SM"):
    return f"{prefix}{next(_sids):032x}"


# ---------------------------------------------------------------------------------------------
# Twilio status callbacks

STATUS_PATH = "/hooks/twilio/status/"


def status_callback(message, status, **extra):
    return {"MessageSid": message.provider_message_id, "MessageStatus": status, "To": message.to_address, **extra}


def test_webhook_paths_match_what_providers_are_told():
    assert reverse("twilio-status") == STATUS_PATH
    assert reverse("twilio-inbound") == "/hooks/twilio/inbound/"
    assert reverse("sendgrid-events") == "/hooks/sendgrid/events/"


def test_delivered_callback_marks_sms_delivered(client, anna):
    message = make_message(anna)

    response = post_twilio(client, STATUS_PATH, status_callback(message, "delivered"))

    assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at is not None


def test_late_sent_callback_does_not_undo_delivered(client, anna):
    message = make_message(anna)

    post_twilio(client, STATUS_PATH, status_callback(message, "delivered"))
    response = post_twilio(client, STATUS_PATH, status_callback(message, "sent"))

    assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_repeated_callback_is_stored_once(client, anna):
    message = make_message(anna)

    for _ in range(3):
        assert post_twilio(client, STATUS_PATH, status_callback(message, "delivered")).status_code == 204

    assert MessageEvent.objects.filter(message=message).count() == 1


def test_failed_callback_marks_sms_failed_with_error_code(client, anna):
    message = make_message(anna)

    post_twilio(client, STATUS_PATH, status_callback(message, "failed", ErrorCode="30003"))

    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == "30003"


def test_queued_callback_changes_nothing(client, anna):
    message = make_message(anna)

    response = post_twilio(client, STATUS_PATH, status_callback(message, "queued"))

    assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert not MessageEvent.objects.exists()


def test_a_callback_that_beats_our_own_commit_is_kept_and_applied_when_the_send_is_recorded(client, anna):
    from comms.providers.base import Outcome, SendResult
    from comms.services import _record_results

    message = make_message(anna, status=MessageStatus.SENDING)
    Message.objects.filter(pk=message.pk).update(claim="worker-1")
    message.refresh_from_db()
    sid = new_sid()

    response = post_twilio(client, STATUS_PATH, {"MessageSid": sid, "MessageStatus": "delivered"})
    assert response.status_code == 204
    assert MessageEvent.objects.get().message is None

    _record_results(
        "twilio", {message.pk: message}, [SendResult(message.pk, Outcome.ACCEPTED, provider_message_id=sid)]
    )

    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (MessageStatus.DELIVERED, sid)
    assert MessageEvent.objects.get().message == message


def test_a_carrier_opt_out_reported_by_callback_opts_the_contact_out(client, anna):
    message = make_message(anna)
    response = post_twilio(client, STATUS_PATH, status_callback(message, "failed", ErrorCode="21610"))
    assert response.status_code == 204
    anna.refresh_from_db()
    assert anna.sms_consent == "opted_out"


def test_forged_status_callback_is_refused_and_changes_nothing(client, anna):
    message = make_message(anna)

    response = post_twilio(client, STATUS_PATH, status_callback(message, "failed"), token="not-our-token")

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert not MessageEvent.objects.exists()


def test_status_callback_without_signature_is_refused(client, anna):
    message = make_message(anna)

    response = client.post(STATUS_PATH, status_callback(message, "failed"))

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_status_callback_signed_for_another_url_is_refused(client, anna):
    message = make_message(anna)

    response = post_twilio(
        client, STATUS_PATH, status_callback(message, "failed"), signed_url=PUBLIC_URL + "/hooks/twilio/inbound/"
    )

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_garbage_body_without_signature_is_refused(client):
    response = client.post(STATUS_PATH, b"\x00\xff{not a form", content_type="multipart/form-data; boundary=x")

    assert response.status_code == 403


def test_callbacks_are_refused_when_no_auth_token_is_configured(client, anna, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    message = make_message(anna)

    response = post_twilio(client, STATUS_PATH, status_callback(message, "failed"), token="")

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_status_callback_must_be_a_post(client):
    assert client.get(STATUS_PATH).status_code == 405


# ---------------------------------------------------------------------------------------------
# Twilio inbound SMS

INBOUND_PATH = "/hooks/twilio/inbound/"


def inbound_sms(body, *, sid=None, from_number=ANNA_PHONE):
    return {"MessageSid": sid or new_sid(), "From": from_number, "To": CANDOR_NUMBER, "Body": body}


def twiml_messages(response):
    assert response["Content-Type"].startswith("text/xml")
    return response.content.decode().count("<Message>")


def test_stop_reply_opts_contact_out_of_sms(client, anna):
    response = post_twilio(client, INBOUND_PATH, inbound_sms(" stop "))

    assert response.status_code == 200
    anna.refresh_from_db()
    assert anna.sms_consent == SmsConsent.OPTED_OUT
    assert twiml_messages(response) == 1
    assert "START" in response.content.decode()


def test_second_stop_gets_no_second_confirmation(client, anna):
    post_twilio(client, INBOUND_PATH, inbound_sms("STOP"))

    response = post_twilio(client, INBOUND_PATH, inbound_sms("Stop"))

    assert twiml_messages(response) == 0
    assert response.content.decode().endswith("<Response />")


def test_start_reply_grants_sms_consent_again(client, anna):
    post_twilio(client, INBOUND_PATH, inbound_sms("STOP"))

    response = post_twilio(client, INBOUND_PATH, inbound_sms("Start"))

    anna.refresh_from_db()
    assert anna.sms_consent == SmsConsent.GRANTED
    assert twiml_messages(response) == 1


def test_help_reply_answers_with_the_organisations_help_text(client, anna, organization):
    organization.sms_help_text = "Northwind crisis desk: +49 30 1234567. Reply STOP to opt out."
    organization.save()

    response = post_twilio(client, INBOUND_PATH, inbound_sms("HELP"))

    assert twiml_messages(response) == 1
    assert "Northwind crisis desk: +49 30 1234567." in response.content.decode()


def test_free_text_reply_is_stored_under_the_topic_of_the_last_message(client, anna):
    make_message(anna, topic="incident:4242")

    response = post_twilio(client, INBOUND_PATH, inbound_sms("We quarantined lot 7"))

    assert twiml_messages(response) == 0
    reply = InboundMessage.objects.get()
    assert reply.kind == InboundKind.REPLY
    assert reply.contact == anna
    assert reply.body == "We quarantined lot 7"
    assert reply.topic == "incident:4242"


def test_repeated_inbound_sms_is_stored_once(client, anna):
    params = inbound_sms("STOP")

    first = post_twilio(client, INBOUND_PATH, params)
    second = post_twilio(client, INBOUND_PATH, params)

    assert InboundMessage.objects.count() == 1
    assert twiml_messages(first) == 1
    assert twiml_messages(second) == 0


def test_forged_inbound_sms_is_refused_and_stores_nothing(client, anna):
    response = post_twilio(client, INBOUND_PATH, inbound_sms("STOP"), token="not-our-token")

    assert response.status_code == 403
    assert not InboundMessage.objects.exists()
    anna.refresh_from_db()
    assert anna.sms_consent == SmsConsent.GRANTED


# ---------------------------------------------------------------------------------------------
# SendGrid events

EVENTS_PATH = "/hooks/sendgrid/events/"


def email_event(message, event, *, sg_event_id="sg-1", timestamp=1767225600, **extra):
    return {
        "email": message.to_address,
        "timestamp": timestamp,
        "event": event,
        "sg_event_id": sg_event_id,
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "candor_message_id": str(message.pk),
        **extra,
    }


def test_delivered_event_marks_email_delivered(client, anna, sendgrid_signer):
    message = make_message(anna, channel="email")

    response = sendgrid_signer.post(client, EVENTS_PATH, [email_event(message, "delivered")])

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at.timestamp() == 1767225600


def test_hard_bounce_marks_email_bounced_and_address_bad(client, anna, sendgrid_signer):
    message = make_message(anna, channel="email")
    bounce = email_event(message, "bounce", type="bounce", status="5.1.1", reason="550 5.1.1 No such user")

    sendgrid_signer.post(client, EVENTS_PATH, [bounce])

    message.refresh_from_db()
    anna.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED
    assert message.error_code == "5.1.1"
    assert anna.email_status == EmailStatus.BOUNCED


def test_blocked_bounce_is_recorded_but_changes_nothing(client, anna, sendgrid_signer):
    message = make_message(anna, channel="email")

    sendgrid_signer.post(client, EVENTS_PATH, [email_event(message, "bounce", type="blocked", reason="451 try later")])

    message.refresh_from_db()
    anna.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert anna.email_status == EmailStatus.OK
    assert MessageEvent.objects.filter(message=message, event="bounce").count() == 1


def test_dropped_event_marks_email_failed(client, anna, sendgrid_signer):
    message = make_message(anna, channel="email")

    sendgrid_signer.post(client, EVENTS_PATH, [email_event(message, "dropped", reason="Invalid SMTPAPI header")])

    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.last_error == "Invalid SMTPAPI header"


def test_spam_report_marks_address_complained(client, anna, sendgrid_signer):
    message = make_message(anna, channel="email")

    sendgrid_signer.post(client, EVENTS_PATH, [email_event(message, "spamreport")])

    anna.refresh_from_db()
    message.refresh_from_db()
    assert anna.email_status == EmailStatus.COMPLAINED
    assert message.status == MessageStatus.SENT


@pytest.mark.parametrize("event", ["unsubscribe", "group_unsubscribe"])
def test_unsubscribe_stops_email_to_the_contact(client, anna, sendgrid_signer, event):
    message = make_message(anna, channel="email")

    sendgrid_signer.post(client, EVENTS_PATH, [email_event(message, event)])

    anna.refresh_from_db()
    assert anna.accepts_email is False


def test_same_event_resent_under_new_event_ids_is_stored_once(client, anna, sendgrid_signer):
    message = make_message(anna, channel="email")

    for sg_event_id in ("sg-a", "sg-b", "sg-c"):
        delivered = email_event(message, "delivered", sg_event_id=sg_event_id)
        assert sendgrid_signer.post(client, EVENTS_PATH, [delivered]).status_code == 200

    assert MessageEvent.objects.filter(message=message).count() == 1


def test_one_bad_event_does_not_lose_the_others(client, anna, sendgrid_signer):
    message = make_message(anna, channel="email")
    broken = email_event(message, "processed", timestamp="yesterday")

    response = sendgrid_signer.post(client, EVENTS_PATH, [broken, "not an event", email_event(message, "delivered")])

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_event_for_unknown_message_is_acknowledged_and_ignored(client, anna, sendgrid_signer):
    message = make_message(anna, channel="email")
    unknown = email_event(message, "bounce", type="bounce", candor_message_id=str(message.pk + 1000))
    no_id = email_event(message, "spamreport", candor_message_id="")

    response = sendgrid_signer.post(client, EVENTS_PATH, [unknown, no_id])

    assert response.status_code == 200
    assert not MessageEvent.objects.exists()
    anna.refresh_from_db()
    assert anna.email_status == EmailStatus.OK


def test_forged_event_batch_is_refused_and_changes_nothing(client, anna):
    message = make_message(anna, channel="email")
    impostor = SendGridSigner()

    response = impostor.post(client, EVENTS_PATH, [email_event(message, "spamreport")])

    assert response.status_code == 403
    anna.refresh_from_db()
    assert anna.email_status == EmailStatus.OK
    assert not MessageEvent.objects.exists()


@pytest.mark.parametrize("age_seconds", [3600, -3600])
def test_signed_batch_outside_the_replay_window_is_refused(client, anna, sendgrid_signer, age_seconds):
    message = make_message(anna, channel="email")

    response = sendgrid_signer.post(
        client, EVENTS_PATH, [email_event(message, "delivered")], timestamp=int(time.time()) - age_seconds
    )

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_malformed_signature_header_is_refused_not_an_error(client, anna, sendgrid_signer):
    message = make_message(anna, channel="email")

    response = sendgrid_signer.post(client, EVENTS_PATH, [email_event(message, "delivered")], signature="not base64!!")

    assert response.status_code == 403


def test_batch_without_signature_headers_is_refused(client, anna):
    message = make_message(anna, channel="email")

    response = client.post(EVENTS_PATH, [email_event(message, "delivered")], content_type="application/json")

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_batch_is_refused_when_no_public_key_is_configured(client, anna, sendgrid_signer, settings):
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = ""
    message = make_message(anna, channel="email")

    response = sendgrid_signer.post(client, EVENTS_PATH, [email_event(message, "delivered")])

    assert response.status_code == 403


def test_signed_body_that_is_not_json_is_a_bad_request(client, sendgrid_signer):
    response = sendgrid_signer.post(client, EVENTS_PATH, None, body="[{not json")

    assert response.status_code == 400


# ---------------------------------------------------------------------------------------------
# Provider reports are never dropped


@contextlib.contextmanager
def database_down():
    """Every query fails as it does when PostgreSQL is unreachable."""

    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    with connection.execute_wrapper(refuse):
        yield


def test_sendgrid_events_are_answered_503_while_the_database_is_down_and_recorded_on_retry(
    client, anna, sendgrid_signer
):
    message = make_message(anna, channel="email")
    events = [email_event(message, "delivered")]
    with database_down():
        response = sendgrid_signer.post(client, EVENTS_PATH, events)
    assert response.status_code == 503 and response["Retry-After"]
    assert not MessageEvent.objects.exists()

    assert sendgrid_signer.post(client, EVENTS_PATH, events).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_a_malformed_sendgrid_event_is_skipped_and_logged_while_the_others_are_recorded(
    client, anna, sendgrid_signer, caplog
):
    message = make_message(anna, channel="email")
    malformed = {**email_event(message, "bounce"), "timestamp": "yesterday"}
    response = sendgrid_signer.post(client, EVENTS_PATH, [malformed, email_event(message, "delivered")])
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert "Skipped a malformed SendGrid event" in caplog.text


def test_twilio_callbacks_are_answered_503_while_the_database_is_down(client, anna):
    message = make_message(anna)
    with database_down():
        status = post_twilio(client, STATUS_PATH, status_callback(message, "delivered"))
        inbound = post_twilio(client, INBOUND_PATH, inbound_sms("STOP"))
    assert status.status_code == 503 and inbound.status_code == 503
    assert not MessageEvent.objects.exists() and not InboundMessage.objects.exists()


# The race, made certain by the database: the first insert of an inbound SMS finds the same
# MessageSid inserted between the request's lookup and its own insert, as a concurrent request of
# Twilio's would. A sequence fires it once (a sequence is not rolled back with the transaction).
INBOUND_RACE = [
    "CREATE SEQUENCE inbound_race_once",
    """CREATE FUNCTION inbound_race() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
         IF nextval('inbound_race_once') = 1 THEN
           INSERT INTO {table} SELECT * FROM jsonb_populate_record(
             NEW, jsonb_build_object('id', nextval(pg_get_serial_sequence('{table}', 'id'))));
         END IF;
         RETURN NEW;
       END $$""",
    "CREATE TRIGGER inbound_race BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION inbound_race()",
]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="provokes the race with a PL/pgSQL trigger and a sequence (PostgreSQL)"
)
def test_an_inbound_sms_inserted_by_another_request_between_lookup_and_insert_is_answered_once(client, anna):
    with connection.cursor() as cursor:
        for statement in INBOUND_RACE:
            cursor.execute(statement.format(table=InboundMessage._meta.db_table))
    params = inbound_sms("STOP")

    response = post_twilio(client, INBOUND_PATH, params)

    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM inbound_race_once")
        assert cursor.fetchone()[0] >= 2  # the race happened: the other copy's insert fired the trigger too
    assert response.status_code == 200 and twiml_messages(response) == 1
    assert InboundMessage.objects.filter(provider_message_id=params["MessageSid"]).count() == 1
    anna.refresh_from_db()
    assert anna.sms_consent == SmsConsent.OPTED_OUT


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a race needs concurrent connections (PostgreSQL)")
@pytest.mark.django_db(transaction=True)
def test_six_identical_concurrent_inbound_sms_are_recorded_once_and_all_answered_2xx(organization):
    anna = make_contact(make_client(organization), "Anna Schmidt", phone=ANNA_PHONE)
    params = inbound_sms("STOP")
    start = threading.Barrier(6)

    def deliver(_):
        start.wait()
        try:
            return post_twilio(Client(raise_request_exception=False), INBOUND_PATH, params).status_code
        finally:
            connection.close()

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(deliver, range(6)))
    assert codes == [200] * 6
    assert InboundMessage.objects.filter(provider_message_id=params["MessageSid"]).count() == 1
    anna.refresh_from_db()
    assert anna.sms_consent == SmsConsent.OPTED_OUT
