"""Check the API's bearer tokens: JWT access tokens signed by the identity provider for this API.

A token is accepted only when all of these hold: it is a compact JWS whose algorithm is on an
allow-list of asymmetric ones (never `none`, never a shared-secret HMAC, whatever the header says);
its key, found by `kid` in the provider's published key set, verifies the signature; `iss` is the
provider; `aud` contains OIDC_AUDIENCE; `exp` is in the future and `nbf`/`iat` not in the future,
with a small leeway for clocks; it is not an ID token (no `nonce`). Whom it names is decided by
auth/email_claim.py, as for the portal's sign-in. A `kid` not in the cached key set makes one
refetch of the key set, at most once per `refetch_every` seconds, so the provider can rotate its
keys without anyone restarting intake, and a stream of made-up `kid`s cannot turn intake into a
flood of requests to the provider.

A refusal says why in one of the fixed texts below, never with anything the token said: the reason
goes into the WWW-Authenticate header, which must not carry what a caller chose to write there.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from joserfc import errors as jose_errors
from joserfc import jws, jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
ASYMMETRIC_KEY_TYPES = ("RSA", "EC", "OKP")
LEEWAY_SECONDS = 30
MAX_TOKEN_BYTES = 16 * 1024

# Why a token is refused: these texts are all a refusal ever says (see the module's docstring).
TOO_LONG = "The token is too long."
NOT_A_JWT = "The token is not a signed JWT."
ALGORITHM_REFUSED = "The token's signing algorithm is not accepted; only asymmetric signatures are."
CRITICAL_HEADER = "The token has critical header parameters this service does not know."
UNKNOWN_KEY = "The token was signed by a key the provider does not publish."
BAD_SIGNATURE = "The token's signature does not verify."
EXPIRED = "The token has expired."
CLAIMS_INVALID = "The token's claims are not valid."
ID_TOKEN = "The token is an ID token; call the API with an access token."
# the registered claims the verifier checks, each with its own reason
CLAIM_NOT_ACCEPTED = {claim: f"The token's {claim} is not accepted here." for claim in ("iss", "aud", "exp", "nbf", "iat")}
CLAIM_MISSING = {claim: f"The token has no {claim}." for claim in ("iss", "aud", "exp")}


class InvalidToken(Exception):
    """A bearer token that must not authenticate anyone; the message is one of this module's fixed reasons."""


class KeySetCache:
    """The provider's public keys, fetched when first needed and again when a token names a key we lack."""

    def __init__(self, fetch: Callable[[], dict], refetch_every: float = 10.0):
        self._fetch = fetch
        self.refetch_every = refetch_every
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        self.fetches = 0

    def key_for(self, kid: str | None):
        """The public key with this kid; refetches the set (rate-limited) when the kid is unknown."""
        keys = self._keys
        key = _find(keys, kid) if keys is not None else None
        if key is not None:
            return key
        with self._lock:
            if self._keys is not keys and (key := _find(self._keys, kid)) is not None:
                return key  # another thread refetched meanwhile
            if self._keys is None or time.monotonic() - self._fetched_at >= self.refetch_every:
                self._keys = _public_keys(self._fetch())
                self._fetched_at = time.monotonic()
                self.fetches += 1
            key = _find(self._keys, kid)
        if key is None:
            raise InvalidToken(UNKNOWN_KEY)
        return key


def _public_keys(document: dict) -> KeySet:
    # Only asymmetric public keys: a symmetric "key" in the set must never verify anything.
    usable = [k for k in document.get("keys", []) if k.get("kty") in ASYMMETRIC_KEY_TYPES and k.get("use", "sig") == "sig"
              and "d" not in k]
    return KeySet.import_key_set({"keys": usable})


def _find(keys: KeySet | None, kid: str | None):
    if keys is None:
        return None
    if kid is None:
        # a token without kid is usable only while the provider publishes a single key
        return keys.keys[0] if len(keys.keys) == 1 else None
    for key in keys.keys:
        if key.kid == kid:
            return key
    return None


class TokenVerifier:
    """Validate the access tokens of one issuer for one audience."""

    def __init__(self, issuer: str, audience: str, keys: KeySetCache, *, leeway: int = LEEWAY_SECONDS):
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.leeway = leeway

    def verify(self, raw: str) -> dict:
        """Return the claims of a valid token; raise InvalidToken otherwise."""
        if len(raw) > MAX_TOKEN_BYTES:
            raise InvalidToken(TOO_LONG)
        try:
            header = jws.extract_compact(raw.encode("ascii")).headers()
        except (jose_errors.JoseError, ValueError, UnicodeError):
            raise InvalidToken(NOT_A_JWT) from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidToken(ALGORITHM_REFUSED)
        if header.get("crit"):
            raise InvalidToken(CRITICAL_HEADER)
        key = self.keys.key_for(header.get("kid"))
        try:
            token = jwt.decode(raw, key, registry=JWSRegistry(algorithms=[alg]))
        except jose_errors.JoseError:
            raise InvalidToken(BAD_SIGNATURE) from None
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except jose_errors.ExpiredTokenError:
            raise InvalidToken(EXPIRED) from None
        except jose_errors.InvalidClaimError as exc:
            raise InvalidToken(CLAIM_NOT_ACCEPTED.get(exc.claim, CLAIMS_INVALID)) from None
        except jose_errors.MissingClaimError as exc:
            raise InvalidToken(CLAIM_MISSING.get(exc.claim, CLAIMS_INVALID)) from None
        except jose_errors.JoseError:
            raise InvalidToken(CLAIMS_INVALID) from None
        # An ID token is for the portal's sign-in, not for calling the API: only ID tokens carry a
        # nonce, so one replayed at the API as a bearer token is refused even if its aud matched.
        if "nonce" in claims:
            raise InvalidToken(ID_TOKEN)
        return claims
