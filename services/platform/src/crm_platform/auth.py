"""Signed tokens: identity issues access tokens, every service verifies them itself.

Tokens are EdDSA (Ed25519) JWTs. Only identity holds the user-token private key; services hold
public keys. Background work (automation, records' consumer) uses service tokens signed with a
separate key. Each token names its purpose in `typ`, so a refresh or reset token can never pass as an
access token. A service token names its caller (`svc`) and its one callee (`aud`: `crm-<service>`)
and carries no rights: the callee grants them per caller and method (`crm_platform.service_calls`),
whatever else the token says.
"""

from __future__ import annotations

import datetime as _dt
import pathlib
import time
import uuid
from typing import Any, Iterable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_platform.context import Principal
from crm_platform.errors import Unauthenticated

ISSUER = "crm-identity"
AUDIENCE = "crm"
ACCESS = "access"
SERVICE = "service"


def audience_of(service: str) -> str:
    """The `aud` of a service token meant for `service`."""
    return f"crm-{service}"


def generate_keypair(private_path: pathlib.Path, public_path: pathlib.Path) -> None:
    """Write a new Ed25519 key pair as PEM files (used by `make run` on first start)."""
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    private_path.chmod(0o600)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))


# The value of a private-key setting in a process that signs nothing (docs/security.md: a key is
# mounted only where a process signs): identity's relay and mailer, automation's API and relay.
NO_KEY = "none"


def read_key(value: str) -> str:
    """Accept a PEM string or a path to a PEM file; "" or `NO_KEY`: no key ("")."""
    if "-----BEGIN" in value:
        return value
    if value.strip() in ("", NO_KEY):
        return ""
    return pathlib.Path(value).read_text()


class TokenSigner:
    """Sign tokens of one purpose with a private key. Without one (`""`: a process that holds no key,
    `NO_KEY`), every sign raises: the process was deployed as one that signs nothing."""

    def __init__(self, private_pem: str, issuer: str = ISSUER):
        self._key = serialization.load_pem_private_key(private_pem.encode(), password=None) if private_pem else None
        self.issuer = issuer

    def _signing_key(self):
        if self._key is None:
            raise RuntimeError("this process holds no token signing key (its private-key setting is "
                               f"{NO_KEY!r}): only the processes that sign are given one")
        return self._key

    def sign(self, *, typ: str, company_id: str, user_id: str, ttl: _dt.timedelta,
             permissions: Iterable[str] = (), session_id: str = "", extra: dict[str, Any] | None = None) -> str:
        """Return a signed token for the given subject."""
        now = _dt.datetime.now(_dt.timezone.utc)
        claims = {
            "iss": self.issuer, "aud": AUDIENCE, "typ": typ, "sub": user_id, "cid": company_id,
            "perm": sorted(permissions), "sid": session_id, "jti": uuid.uuid4().hex,
            "iat": now, "nbf": now, "exp": now + ttl,
        }
        if extra:
            claims.update(extra)
        return jwt.encode(claims, self._signing_key(), algorithm="EdDSA")

    def sign_service(self, *, caller: str, callee: str, company_id: str, user_id: str,
                     ttl: _dt.timedelta = _dt.timedelta(minutes=5)) -> str:
        """A service token of `caller` for calls to `callee` in a company, acting for `user_id` (who the
        records' history names): no rights of its own."""
        now = _dt.datetime.now(_dt.timezone.utc)
        return jwt.encode({"iss": self.issuer, "aud": audience_of(callee), "typ": SERVICE, "svc": caller,
                           "sub": user_id, "cid": company_id, "jti": uuid.uuid4().hex, "iat": now, "nbf": now,
                           "exp": now + ttl}, self._signing_key(), algorithm="EdDSA")


class TokenVerifier:
    """Verify access tokens (user key) and service tokens (service key, meant for `service`: their
    audience) into a Principal. A service token's principal holds no permissions: the interceptor grants
    them per caller and method."""

    CACHE_SIZE = 10_000

    def __init__(self, access_public_pem: str, service_public_pem: str | None = None, service: str = ""):
        self._keys = {ACCESS: serialization.load_pem_public_key(access_public_pem.encode())}
        self._audiences = {ACCESS: AUDIENCE, SERVICE: audience_of(service)}
        if service_public_pem and service:
            self._keys[SERVICE] = serialization.load_pem_public_key(service_public_pem.encode())
        # token -> (caller, kind, expiry): a token's signature is checked once, not on every call
        # (an EdDSA check and three JWT decodes cost ~250 us; a card request meets one token 4 times)
        self._verified: dict[str, tuple[Principal, str, float]] = {}

    def verify(self, token: str, allowed: Iterable[str] = (ACCESS, SERVICE)) -> Principal:
        """Return the caller named by `token`, or raise Unauthenticated."""
        hit = self._verified.get(token)
        if hit is not None:
            principal, typ, exp = hit
            if typ not in allowed:
                raise Unauthenticated("token_invalid", "Token of the wrong kind")
            if time.time() < exp:
                return principal
            self._verified.pop(token, None)
        principal, typ, exp = self._verify(token, allowed)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, typ, exp)
        return principal

    def _verify(self, token: str, allowed: Iterable[str]) -> tuple[Principal, str, float]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthenticated("token_invalid", "Malformed token") from exc
        typ = unverified.get("typ")
        if header.get("alg") != "EdDSA" or typ not in allowed or typ not in self._keys:
            raise Unauthenticated("token_invalid", "Token of the wrong kind")
        try:
            required = ["exp", "iat", "nbf", "sub", "cid", "typ"] + (["svc"] if typ == SERVICE else [])
            claims = jwt.decode(token, self._keys[typ], algorithms=["EdDSA"], audience=self._audiences[typ],
                                options={"require": required})
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token_expired", "Token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("token_invalid", "Invalid token") from exc
        if typ == SERVICE:
            return Principal(company_id=claims["cid"], user_id=claims["sub"], kind="service", caller=claims["svc"],
                             token=token), typ, float(claims["exp"])
        return Principal(company_id=claims["cid"], user_id=claims["sub"], permissions=frozenset(claims.get("perm") or ()),
                         session_id=claims.get("sid", ""), token=token, language=claims.get("lng") or ""), \
            typ, float(claims["exp"])
