"""A real OpenID Connect provider for the sign-in tests: the npm package oidc-provider, run by
tests/oidc/provider.mjs with test users carrying roles.

The tests make the provider's signing keys, so besides taking tokens from the provider (through its
own authorization code flow, as any client would) they can sign tokens with the provider's own key
but a wrong issuer, audience or expiry: then only the claim under test is wrong. Given a certificate
authority's files (tests/support/certificates.py) it serves https, as a production provider does.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

FOLDER = Path(__file__).resolve().parents[1] / "oidc"
SCRIPT = FOLDER / "provider.mjs"

CLIENT_ID = "invite-users"
# where the tests' intake (in process) says the provider sends its sign-ins back
REDIRECT_URI = "http://127.0.0.1:5999/sign-in/callback"
AUDIENCE = "https://invites.test/api"
USERS = {
    "amy@tech.gov.sg": {"name": "Amy Requester", "roles": []},
    "bob@tech.gov.sg": {"name": "Bob Approver", "roles": ["approver"]},
    "carol@tech.gov.sg": {"name": "Carol Auditor", "roles": ["auditor"]},
    "ada@tech.gov.sg": {"name": "Ada Administrator", "roles": ["admin"]},
    "vic@vendor.example.com": {"name": "Vic Vendor", "roles": ["approver"]},
    # other accounts at the provider giving bob's address: one it has not verified, one it says nothing of
    "bob.unverified": {"name": "Not Bob", "email": "bob@tech.gov.sg", "email_verified": False, "roles": []},
    "bob.unchecked": {"name": "Maybe Bob", "email": "bob@tech.gov.sg", "email_verified": None, "roles": []},
}


def skip_unless_available() -> None:
    """Skip a test that needs the provider, with the reason; in CI (CI=true) fail instead, since CI's
    machine installs Node.js and oidc-provider through `make setup` and must run these tests."""
    import pytest

    why_not = why_not_available()
    if why_not and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the OpenID Connect tests: {why_not}")
    if why_not:
        pytest.skip(why_not)


def why_not_available() -> str | None:
    """Say why the test provider cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed: the OpenID Connect tests need Node.js to run oidc-provider"
    if not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        return "oidc-provider is not installed in tests/oidc: run `make setup` (it runs npm ci there)"
    return None


def new_key() -> RSAKey:
    """A fresh RSA signing key with a kid of its own."""
    return RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex[:16], "use": "sig", "alg": "RS256"},
                               private=True)


@dataclass
class OpenIDProvider:
    """A running oidc-provider process and what tests need from it."""

    workdir: Path
    redirect_uri: str
    post_logout_redirect_uri: str
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    control_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    keys: list[RSAKey] = field(default_factory=lambda: [new_key()])
    issuer: str = ""
    audience: str = AUDIENCE
    process: subprocess.Popen | None = None
    users: dict = field(default_factory=lambda: dict(USERS))
    # a TestAuthority: serve https with its loopback certificate, and trust only it when calling
    tls: object | None = None

    @property
    def verify(self) -> str | bool:
        """What requests should verify the provider's certificate with."""
        return str(self.tls.ca_file) if self.tls is not None else True

    def start(self) -> "OpenIDProvider":
        config = {
            "port": 0,
            "keys": {"keys": [k.as_dict(private=True) for k in self.keys]},
            "client": {"client_id": CLIENT_ID, "client_secret": self.client_secret,
                       "redirect_uris": [self.redirect_uri],
                       "post_logout_redirect_uris": [self.post_logout_redirect_uri]},
            "audience": self.audience,
            "users": self.users,
            "control_token": self.control_token,
        }
        if self.tls is not None:
            config["tls"] = {"cert": str(self.tls.cert_file), "key": str(self.tls.key_file)}
        path = self.workdir / "provider.json"
        path.write_text(json.dumps(config))
        log = open(self.workdir / "provider.log", "ab")
        self.process = subprocess.Popen(["node", str(SCRIPT), str(path)], cwd=FOLDER, stdout=subprocess.PIPE,
                                        stderr=log)
        line = self.process.stdout.readline().decode()
        if not line:
            raise AssertionError(f"oidc-provider did not start:\n{self.log()[-3000:]}")
        self.issuer = json.loads(line)["issuer"]
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log(self) -> str:
        path = self.workdir / "provider.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def settings(self) -> dict[str, str]:
        """The environment that points intake at this provider."""
        return {
            "AUTH_MODE": "oidc",
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": self.client_secret,
            "OIDC_AUDIENCE": self.audience,
            "OIDC_REDIRECT_URI": self.redirect_uri,
        }

    # -- tokens the provider issues --------------------------------------------------------------
    def api_token(self, email: str) -> str:
        """An access token for the API, obtained as a client does: authorization code flow with PKCE."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        authorize = requests.Request("GET", f"{self.issuer}/auth", params={
            "client_id": CLIENT_ID, "response_type": "code", "redirect_uri": self.redirect_uri,
            "scope": "openid email api", "resource": self.audience, "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8), "code_challenge": challenge, "code_challenge_method": "S256",
        }).prepare().url
        code = parse_qs(urlsplit(self.log_in(authorize, email)).query)["code"][0]
        assert code, "the provider did not send a code back"
        token = requests.post(f"{self.issuer}/token", auth=(CLIENT_ID, self.client_secret), timeout=10, verify=self.verify, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "code_verifier": verifier, "resource": self.audience,
        })
        assert token.status_code == 200, token.text
        return token.json()["access_token"]

    def log_in(self, authorize_url: str, email: str) -> str:
        """Follow an authorization request through the provider's login form, as a browser would;
        return the address the provider finally sends the browser back to (the redirect URI, with a code)."""
        browser = requests.Session()
        # given with each request: a REQUESTS_CA_BUNDLE in the environment would beat the session's
        response = browser.get(authorize_url, allow_redirects=False, timeout=10, verify=self.verify)
        for _ in range(10):
            location = urljoin(response.url, response.headers.get("Location", ""))
            if location.startswith(self.redirect_uri):
                return location
            if response.status_code in (302, 303):
                response = browser.get(location, allow_redirects=False, timeout=10, verify=self.verify)
            elif response.status_code == 200 and 'name="login"' in response.text:
                response = browser.post(response.url, data={"prompt": "login", "login": email, "password": "any"},
                                        allow_redirects=False, timeout=10, verify=self.verify)
            else:
                raise AssertionError(f"unexpected answer from the provider: {response.status_code} {response.text[:500]}")
        raise AssertionError("the provider never sent the browser back")

    def rotate_keys(self) -> RSAKey:
        """Give the provider a new signing key (the old one stays published, as in a real rotation)."""
        self.keys = [new_key(), *self.keys]
        response = requests.post(f"{self.issuer}/test/keys", timeout=10, verify=self.verify, json={"keys": [k.as_dict(private=True) for k in self.keys]},
                                 headers={"Authorization": f"Bearer {self.control_token}"})
        assert response.status_code == 204, response.text
        return self.keys[0]

    # -- tokens signed here, for the refusals -----------------------------------------------------
    def claims(self, person: str, **overrides) -> dict:
        """Claims like the provider's access tokens carry, with overrides."""
        now = int(time.time())
        user = self.users[person]
        claims = {"iss": self.issuer, "aud": self.audience, "sub": person, "email": user.get("email", person),
                  "email_verified": user.get("email_verified", True), "roles": user["roles"],
                  "iat": now, "exp": now + 300, "client_id": CLIENT_ID, "scope": "api", "jti": uuid.uuid4().hex}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict, key: RSAKey | None = None, *, kid: str | None = None, alg: str = "RS256") -> str:
        """A JWT with these claims, signed with the provider's current key unless another is given."""
        key = key or self.keys[0]
        header = {"alg": alg, "typ": "at+jwt", "kid": kid or key.kid}
        return jwt.encode(header, claims, key)


if __name__ == "__main__":
    # Print an API access token from a provider already running, e.g. `make demo-provider`:
    #   .venv/bin/python -m tests.support.oidc bob@tech.gov.sg   (defaults: tests/oidc/demo.json)
    import sys

    demo = json.loads((FOLDER / "demo.json").read_text())
    person = sys.argv[1] if len(sys.argv) > 1 else "amy@tech.gov.sg"
    running = OpenIDProvider(Path("."), demo["client"]["redirect_uris"][0], demo["client"]["post_logout_redirect_uris"][0],
                             client_secret=demo["client"]["client_secret"], issuer=f"http://127.0.0.1:{demo['port']}",
                             audience=demo["audience"])
    print(running.api_token(person))
