"""Sign webhook requests the way Twilio and SendGrid do, so tests exercise the real verifiers."""

import base64
import json
import time
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from twilio.request_validator import RequestValidator

PUBLIC_URL = "https://candor.example.com"
TWILIO_AUTH_TOKEN = "test-token"


def post_twilio(client, path, params, *, token=TWILIO_AUTH_TOKEN, signed_url=None, signature=None):
    """POST a form as Twilio does, signed for `signed_url` (by default the public URL of `path`)."""
    if signature is None:
        signature = RequestValidator(token).compute_signature(signed_url or PUBLIC_URL + path, params)
    return client.post(
        path,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


class SendGridSigner:
    """A P-256 key pair standing in for SendGrid's Signed Event Webhook key."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self):
        """What SendGrid shows as the verification key: base64 DER SubjectPublicKeyInfo."""
        der = self.private_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode("ascii")

    def sign(self, timestamp, payload):
        signature = self.private_key.sign((timestamp + payload).encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode("ascii")

    def post(self, client, path, events, *, timestamp=None, signature=None, body=None):
        """POST a batch of events, signed now (or at `timestamp`, unix seconds)."""
        body = json.dumps(events) if body is None else body
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "X-Twilio-Email-Event-Webhook-Signature": self.sign(timestamp, body) if signature is None else signature,
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }
        return client.post(path, body, content_type="application/json", headers=headers)
