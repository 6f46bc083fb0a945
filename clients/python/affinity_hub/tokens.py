"""Subscription tokens: HS256 JWTs the hub accepts for reading keys (docs/protocol.md)."""
import base64
import hashlib
import hmac
import json
import time
from typing import Iterable


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(secret: str | bytes, keys: Iterable[str], ttl_seconds: int = 300, now: float | None = None) -> str:
    """A token granting `keys` (exact keys, or prefixes ending in `*`) for `ttl_seconds`."""
    key = secret.encode() if isinstance(secret, str) else secret
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"keys": list(keys), "exp": int((now if now is not None else time.time()) + ttl_seconds)}
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64url(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"
