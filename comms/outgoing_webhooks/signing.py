"""The signature on every outgoing webhook: `Candor-Signature: t=<unix seconds>,v1=<hex>`, where
hex is HMAC-SHA256 with the endpoint's secret over "<t>.<raw body>" (docs/webhooks.md)."""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Candor-Signature"
EVENT_TYPE_HEADER = "Candor-Event"
EVENT_ID_HEADER = "Candor-Event-Id"
DEFAULT_TOLERANCE_SECONDS = 300


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_is_valid(*, secret: str, body: bytes, header: str, tolerance_seconds=DEFAULT_TOLERANCE_SECONDS, now=None):
    """What a receiver checks: a v1 signature over this body and a timestamp no older than the
    tolerance (a replayed delivery is refused). Never raises on a malformed header."""
    parts = dict(part.split("=", 1) for part in (header or "").split(",") if "=" in part)
    timestamp = parts.get("t", "")
    if not timestamp.isdigit() or "v1" not in parts:
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > tolerance_seconds:
        return False
    expected = signature_header(secret=secret, body=body, timestamp=int(timestamp)).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"])
