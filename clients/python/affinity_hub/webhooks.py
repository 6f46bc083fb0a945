"""Verifying the hub's outcome webhooks (Standard Webhooks signatures, docs/webhooks.md)."""
import base64
import hashlib
import hmac
import json
import time
from typing import Mapping

from .connection import Outcome


class WebhookVerificationError(Exception):
    """The request is not a fresh, correctly signed outcome from the hub."""


def verify_webhook(secrets: str | list[str], headers: Mapping[str, str], body: bytes, tolerance_seconds: int = 300,
                   now: float | None = None) -> Outcome:
    """The delivered outcome, once `body` is proven signed by one of `secrets` (`whsec_…`; pass the
    old and the new one during a rotation) within `tolerance_seconds` of now. Header names match
    case-insensitively. Delivery is at least once: deduplicate by `outcome.id`."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, timestamp, signatures = lower["webhook-id"], lower["webhook-timestamp"], lower["webhook-signature"]
    except KeyError as missing:
        raise WebhookVerificationError(f"missing header {missing}") from None
    try:
        ts = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    if abs((now if now is not None else time.time()) - ts) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too far from now")
    signed = f"{msg_id}.{ts}.".encode() + body
    candidates = [s.split(",", 1)[1].encode() for s in signatures.split(" ") if s.startswith("v1,")]
    matched = False
    for secret in [secrets] if isinstance(secrets, str) else secrets:
        key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
        matched |= any(hmac.compare_digest(expected, c) for c in candidates)
    if not matched:
        raise WebhookVerificationError("no signature matches")
    envelope = json.loads(body)
    if envelope.get("type") != "outcome":
        raise WebhookVerificationError("the body is not an outcome")
    return Outcome.from_envelope(envelope)
