"""The identity provider as intake sees it (AUTH_MODE=oidc): its discovery document, the portal's
OpenID Connect client (authlib: authorization code flow with PKCE, state and nonce, the ID token's
signature, issuer, audience, expiry and nonce checked) and the API's access-token verifier.

Nothing is fetched at start: a provider that is briefly down must not stop intake from starting, and
a page or call that needs it answers 503 until it is back.
"""
from __future__ import annotations

import threading
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, request

from invite_common.config import Settings

from intake.auth.tokens import ALGORITHMS, KeySetCache, TokenVerifier

HTTP_TIMEOUT = 10
DISCOVERY_PATH = "/.well-known/openid-configuration"


class ProviderUnavailable(Exception):
    """The identity provider could not be reached or answered something unusable (503)."""


class IdentityProvider:
    """One OpenID provider: discovery, the portal's client registration, the API's token checks."""

    def __init__(self, settings: Settings, app: Flask):
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.redirect_uri = settings.oidc_redirect_uri
        self._metadata: dict | None = None
        self._lock = threading.Lock()
        self.verifier = TokenVerifier(self.issuer, self.audience, KeySetCache(self.fetch_key_set))
        oauth = OAuth(app)
        self.client = oauth.register(
            "provider",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=self.discovery_url,
            client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256", "timeout": HTTP_TIMEOUT},
        )

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + DISCOVERY_PATH

    def metadata(self) -> dict:
        """The provider's discovery document, fetched once; its issuer must be exactly OIDC_ISSUER."""
        if self._metadata is None:
            with self._lock:
                if self._metadata is None:
                    document = self._get_json(self.discovery_url)
                    if document.get("issuer") != self.issuer:
                        raise ProviderUnavailable(
                            f"the provider calls itself {document.get('issuer')!r}, not OIDC_ISSUER {self.issuer!r}")
                    self._metadata = document
        return self._metadata

    def fetch_key_set(self) -> dict:
        """The provider's published signing keys (its JWKS)."""
        return self._get_json(self.metadata()["jwks_uri"])

    def public_url(self, path: str) -> str:
        """This site's address for a path, as the provider knows it: OIDC_REDIRECT_URI's origin when set
        (behind a reverse proxy the request's own host may be an internal one), else the request's."""
        if self.redirect_uri:
            parts = urlsplit(self.redirect_uri)
            return f"{parts.scheme}://{parts.netloc}{path}"
        return request.host_url.rstrip("/") + path

    def origins(self) -> list[str]:
        """The origins a person's browser is sent to: the issuer's and its sign-in and sign-out endpoints'."""
        urls = [self.issuer]
        if self._metadata is not None:
            urls += [self._metadata.get("authorization_endpoint") or "", self._metadata.get("end_session_endpoint") or ""]
        found = []
        for url in urls:
            parts = urlsplit(url)
            origin = f"{parts.scheme}://{parts.netloc}"
            if parts.netloc and origin not in found:
                found.append(origin)
        return found

    def end_session_endpoint(self) -> str | None:
        """Where to send a person to sign out at the provider too, when it offers RP-initiated logout."""
        try:
            return self.metadata().get("end_session_endpoint")
        except ProviderUnavailable:
            return None

    def check_id_token_algorithm(self, id_token: str) -> None:
        """Refuse an ID token signed other than with an allowed asymmetric algorithm."""
        from joserfc import jws

        alg = jws.extract_compact(id_token.encode("ascii")).headers().get("alg")
        if alg not in ALGORITHMS:
            raise OAuthError(error="invalid_token", description="the ID token's signing algorithm is not accepted")

    @staticmethod
    def _get_json(url: str) -> dict:
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"{url} could not be read ({exc.__class__.__name__})") from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url} did not answer a JSON object")
        return document


def register_identity_provider(app: Flask, settings: Settings) -> None:
    """With AUTH_MODE=oidc, give the app its identity provider: the portal's sign-in and the API's token checks."""
    if settings.auth_mode == "oidc":
        app.extensions["oidc"] = IdentityProvider(settings, app)
