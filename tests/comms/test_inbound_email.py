"""Email replies: every email to a contact carries a signed per-message Reply-To, and SendGrid
Inbound Parse posts the reply (a real multipart form shaped like SendGrid's) to a URL carrying our
secret. Anna (Acme) received update #1 of Alice's outage and answers it.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from comms.models import InboundKind, InboundMessage, Message
from comms.reply_address import reply_address, reply_token
from comms.services import deliver_batch
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import TimelineEntry, TimelineKind
from playbooks.updates.services import update_draft, update_publish
from tests.conftest import make_client, make_contact
from tests.playbooks.conftest import make_playbook

DOMAIN = "reply.northwind.example"
SECRET = "s3cret-path-token"
INBOUND_PATH = f"/hooks/sendgrid/inbound/{SECRET}/"


@pytest.fixture(autouse=True)
def inbound_settings(settings, tmp_path):
    settings.CANDOR_INBOUND_EMAIL_DOMAIN = DOMAIN
    settings.CANDOR_INBOUND_EMAIL_SECRET = SECRET
    settings.CANDOR_OUTBOX_DIR = tmp_path
    return settings


@pytest.fixture
def anna(organization):
    return make_contact(make_client(organization), "Anna Schmidt")


@pytest.fixture
def incident(organization, alice, anna):
    alice.email = "alice@northwind.example"
    alice.save()
    incident = incident_create(
        playbook=make_playbook(organization, "outage"),
        actor=alice,
        title="Payments API errors",
        affected_clients=[anna.client],
    )
    incident_transition(incident=incident, name="activate", actor=alice)
    update_publish(update=update_draft(incident=incident, author=alice), actor=alice)
    return incident


@pytest.fixture
def annas_email(incident, anna):
    return Message.objects.get(contact=anna, channel="email", source__startswith="update:")


def sendgrid_form(*, to, sender="Anna Schmidt <anna.schmidt@example.com>", text="We see errors too.", **extra):
    """The fields SendGrid's Inbound Parse posts for a parsed (not raw) email."""
    headers = "\n".join(
        [
            "Received: by mx0047p1mdw1.sendgrid.net with SMTP id 6WCVv7KAWn Tue, 01 Dec 2026 08:10:00 +0000 (UTC)",
            "MIME-Version: 1.0",
            f"From: {sender}",
            f"To: {to}",
            "Subject: Re: Payments API errors",
            f"Message-ID: {extra.pop('message_id', '<CAB4x1=anna-1@mail.example.com>')}",
            *extra.pop("extra_headers", []),
            'Content-Type: multipart/alternative; boundary="000000000000ab12"',
        ]
    )
    form = {
        "headers": headers,
        "dkim": "{@example.com : pass}",
        "to": to,
        "from": sender,
        "subject": "Re: Payments API errors",
        "text": text,
        "html": f"<div dir='ltr'>{text}</div>",
        "sender_ip": "209.85.223.171",
        "spam_score": "0.1",
        "spam_report": "Spam detection software ...",
        "envelope": json.dumps({"to": [to], "from": "anna.schmidt@example.com"}),
        "attachments": "0",
        "charsets": json.dumps({"to": "UTF-8", "html": "UTF-8", "subject": "UTF-8", "from": "UTF-8", "text": "UTF-8"}),
        "SPF": "pass",
    }
    form.update(extra)
    return form


def post(form, path=INBOUND_PATH):
    # Django's test client encodes a dict as multipart/form-data, as SendGrid posts it.
    return Client().post(path, form)


def test_emails_to_contacts_carry_a_signed_reply_to_per_message(incident, annas_email, tmp_path):
    deliver_batch(channel="email")

    written = (tmp_path / "email" / f"{annas_email.pk}.txt").read_text()
    assert f"Reply-To: reply+{reply_token(annas_email.pk)}@{DOMAIN}" in written


def test_sendgrid_requests_share_one_reply_to_with_the_token_substituted_per_recipient(settings, annas_email):
    from comms.providers.sendgrid import SendGridEmailProvider
    from comms.services import _claim, _outgoing

    claimed = _claim("email", 10, timezone.now())
    outgoing = [_outgoing(message) for message in claimed]
    body = SendGridEmailProvider(api_key="SG.x", from_email="updates@northwind.example").request_body(outgoing)

    assert body["reply_to"] == {"email": f"reply+-reply_token-@{DOMAIN}"}
    assert body["personalizations"][0]["substitutions"]["-reply_token-"] == reply_token(annas_email.pk)


def test_a_reply_is_stored_with_the_replies_and_reaches_the_timeline_and_the_commander(incident, anna, annas_email):
    response = post(sendgrid_form(to=reply_address(annas_email.pk)))

    assert response.status_code == 200
    reply = InboundMessage.objects.get()
    assert (reply.kind, reply.channel, reply.contact, reply.message) == (InboundKind.REPLY, "email", anna, annas_email)
    assert reply.body == "We see errors too."
    assert reply.topic == f"incident:{incident.pk}"
    assert not reply.is_auto_reply
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineKind.CLIENT_REPLY)
    assert entry.note == "Anna Schmidt (Acme GmbH) replied by email: [Re: Payments API errors] We see errors too."
    notice = Message.objects.get(user=incident.commander, source__startswith="team:reply:")
    assert "replied by email" in notice.rendered[1]
    assert "We see errors too." in notice.rendered[1]


def test_a_reply_address_in_upper_case_still_matches(annas_email):
    response = post(sendgrid_form(to=reply_address(annas_email.pk).upper()))

    assert response.status_code == 200
    assert InboundMessage.objects.get().message == annas_email


def test_the_same_email_posted_twice_is_stored_once(incident, annas_email):
    form = sendgrid_form(to=reply_address(annas_email.pk))

    assert post(form).status_code == 200
    assert post(form).status_code == 200

    assert InboundMessage.objects.count() == 1
    assert TimelineEntry.objects.filter(incident=incident, kind=TimelineKind.CLIENT_REPLY).count() == 1


def test_attachments_are_dropped_with_a_note(incident, annas_email):
    form = sendgrid_form(
        to=reply_address(annas_email.pk),
        attachments="1",
        **{"attachment-info": json.dumps({"attachment1": {"filename": "screenshot.png", "type": "image/png"}})},
    )
    form["attachment1"] = SimpleUploadedFile("screenshot.png", b"\x89PNG\r\n\x1a\n...", content_type="image/png")

    response = post(form)

    assert response.status_code == 200
    reply = InboundMessage.objects.get()
    assert reply.note == "1 attachment(s) not kept: screenshot.png."
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineKind.CLIENT_REPLY)
    assert "screenshot.png" in entry.note


@pytest.mark.parametrize(
    "headers",
    [
        ["Auto-Submitted: auto-replied"],
        ["X-Autoreply: yes"],
        ["Precedence: auto_reply"],
        ["Precedence: bulk"],
    ],
)
def test_an_automatic_answer_is_marked_and_notifies_nobody(incident, annas_email, headers):
    response = post(
        sendgrid_form(to=reply_address(annas_email.pk), text="I am out until Monday.", extra_headers=headers)
    )

    assert response.status_code == 200
    reply = InboundMessage.objects.get()
    assert reply.is_auto_reply
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineKind.CLIENT_REPLY)
    assert "(automatic reply)" in entry.note
    assert not Message.objects.filter(source__startswith="team:reply:").exists()


def test_auto_submitted_no_is_a_person_writing(incident, annas_email):
    post(sendgrid_form(to=reply_address(annas_email.pk), extra_headers=["Auto-Submitted: no"]))

    assert not InboundMessage.objects.get().is_auto_reply
    assert Message.objects.filter(source__startswith="team:reply:").exists()


def test_a_raw_mime_post_is_read_too(incident, annas_email):
    to = reply_address(annas_email.pk)
    raw = (
        f"From: Anna Schmidt <anna.schmidt@example.com>\r\nTo: {to}\r\nSubject: Re: Payments API errors\r\n"
        "Message-ID: <raw-1@mail.example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Grüße, wir sehen es auch.\r\n"
    )
    form = {"email": raw, "to": to, "from": "anna.schmidt@example.com", "envelope": json.dumps({"to": [to]})}

    assert post(form).status_code == 200
    assert InboundMessage.objects.get().body == "Grüße, wir sehen es auch."


# ---------------------------------------------------------------------------------------------
# Refused: forged, unknown, malformed (never a 500)


def test_a_wrong_secret_is_refused_and_stores_nothing(annas_email):
    response = post(sendgrid_form(to=reply_address(annas_email.pk)), path="/hooks/sendgrid/inbound/guessed/")

    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


def test_no_secret_configured_refuses_everything(settings, annas_email):
    settings.CANDOR_INBOUND_EMAIL_SECRET = ""

    response = post(sendgrid_form(to=reply_address(annas_email.pk)), path="/hooks/sendgrid/inbound/x/")

    assert response.status_code == 403


def test_a_forged_reply_address_is_refused(annas_email):
    forged = f"reply+{annas_email.pk}.{'0' * 20}@{DOMAIN}"

    response = post(sendgrid_form(to=forged))

    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


def test_the_from_header_alone_matches_nothing(anna, annas_email):
    # Anna's own address as sender, but sent to the inbound domain without a signed reply address.
    response = post(sendgrid_form(to=f"support@{DOMAIN}"))

    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


def test_a_signed_address_of_a_message_that_does_not_exist_is_refused(annas_email):
    response = post(sendgrid_form(to=reply_address(annas_email.pk + 1000)))

    assert response.status_code == 403


def test_a_signed_address_on_another_domain_is_refused(annas_email):
    response = post(sendgrid_form(to=f"reply+{reply_token(annas_email.pk)}@evil.example"))

    assert response.status_code == 403


@pytest.mark.parametrize(
    "change",
    [
        {"envelope": "{not json"},
        {"envelope": "[1, 2]"},
        {"from": ""},
    ],
)
def test_malformed_posts_are_a_bad_request(annas_email, change):
    form = sendgrid_form(to=reply_address(annas_email.pk))
    form.update(change)

    response = post(form)

    assert response.status_code == 400
    assert not InboundMessage.objects.exists()


def test_a_broken_multipart_body_is_a_bad_request(annas_email):
    response = Client().post(
        INBOUND_PATH, b"--xyz\r\nContent-Disposition: form-data\r\n\r\nbroken", content_type="multipart/form-data"
    )

    assert response.status_code == 400


def test_inbound_parse_accepts_only_post(client):
    assert client.get(INBOUND_PATH).status_code == 405
