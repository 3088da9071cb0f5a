"""The API takes its caller from the provider's JWT access tokens, and refuses every token it must not trust."""
import base64

from intake import settings as intake_settings
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from tests.support.oidc import AUDIENCE, new_key

INVITE = {"method": "email_invitation", "email": "jane.tan@tech.gov.sg", "seed_onboarding": False,
          "reason": "Joining the platform team"}


def test_tokens_from_the_provider_work_for_the_roles_they_carry(bearer_api, provider):
    amy, bob, carol = (provider.api_token(u) for u in ("amy@tech.gov.sg", "bob@tech.gov.sg", "carol@tech.gov.sg"))
    created = bearer_api("POST", "/api/v1/invites", amy, json=INVITE)
    assert created.status_code == 201, created.text
    assert created.json["requester"] == "amy@tech.gov.sg"

    assert bearer_api("GET", "/api/v1/approvals", amy).status_code == 403
    queue = bearer_api("GET", "/api/v1/approvals", bob)
    assert queue.status_code == 200 and [i["id"] for i in queue.json["items"]] == [created.json["id"]]
    assert bearer_api("GET", f"/api/v1/invites/{created.json['id']}", carol).status_code == 200
    assert bearer_api("POST", f"/api/v1/invites/{created.json['id']}/approve", carol, json={}).status_code == 403


def test_a_provider_token_and_no_dev_header_or_cookie_is_what_the_api_takes(bearer_api, provider):
    missing = bearer_api("GET", "/api/v1/invites")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="invite-users"'
    assert bearer_api("GET", "/api/v1/invites", headers={"X-Dev-User": "amy@tech.gov.sg"}).status_code == 401
    assert bearer_api("GET", "/api/v1/invites", headers={"Authorization": "Basic YW15OmFueQ=="}).status_code == 401
    assert bearer_api("GET", "/api/v1/invites", provider.api_token("amy@tech.gov.sg")).status_code == 200


def _unsigned(claims: dict) -> str:
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'at+jwt'})}.{part(claims)}."


def _hmac_with_public_key(provider, claims: dict) -> str:
    # the classic confusion: the provider's public key used as an HMAC secret
    public = json.dumps(provider.keys[0].as_dict(private=False)).encode()
    return jwt.encode({"alg": "HS256", "kid": provider.keys[0].kid}, claims, OctKey.import_key(public),
                      algorithms=["HS256"])


# each bad token, and the reason the challenge gives for it
REFUSALS = {
    "wrong issuer": ('iss is not accepted', lambda p: p.sign(p.claims("bob@tech.gov.sg", iss="https://elsewhere.example"))),
    "wrong audience": ('aud is not accepted', lambda p: p.sign(p.claims("bob@tech.gov.sg", aud="https://another.api"))),
    "no audience": ('has no aud', lambda p: p.sign(p.claims("bob@tech.gov.sg", aud=None))),
    "expired": ('has expired', lambda p: p.sign(p.claims("bob@tech.gov.sg", iat=int(time.time()) - 900, exp=int(time.time()) - 120))),
    "no expiry": ('has no exp', lambda p: p.sign(p.claims("bob@tech.gov.sg", exp=None))),
    "not yet valid": ('nbf is not accepted', lambda p: p.sign(p.claims("bob@tech.gov.sg", nbf=int(time.time()) + 600))),
    "alg none": ("signing algorithm is not accepted", lambda p: _unsigned(p.claims("bob@tech.gov.sg"))),
    "other key, provider's kid": ('signature does not verify', lambda p: p.sign(p.claims("bob@tech.gov.sg"), new_key(), kid=p.keys[0].kid)),
    "unknown kid": ('key the provider does not publish', lambda p: p.sign(p.claims("bob@tech.gov.sg"), new_key())),
    "HS256 with the public key": ("signing algorithm is not accepted", lambda p: _hmac_with_public_key(p, p.claims("bob@tech.gov.sg"))),
    "no email": ('no email claim', lambda p: p.sign(p.claims("bob@tech.gov.sg", email=None))),
    "tampered payload": ('signature does not verify', lambda p: _tampered(p.sign(p.claims("amy@tech.gov.sg")))),
    "not a JWT": ('not a signed JWT', lambda p: "opaque-token-value"),
    "an ID token": ('is an ID token', lambda p: p.sign(p.claims("bob@tech.gov.sg", nonce="n-0S6_WzA2Mj"))),
}


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["approver"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


# What is refused here never reaches the database: one database is enough for these.
@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_a_token_failing_any_check_gets_401_with_a_bearer_challenge(bearer_api, provider, case):
    reason, make = REFUSALS[case]
    response = bearer_api("GET", "/api/v1/approvals", make(provider))
    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="invite-users", error="invalid_token", error_description="')
    assert reason in challenge and reason in response.json["message"]


def test_the_same_claims_signed_properly_are_accepted(bearer_api, provider):
    # the refusals above fail for the one thing each changes, not for how the tests sign
    assert bearer_api("GET", "/api/v1/approvals", provider.sign(provider.claims("bob@tech.gov.sg"))).status_code == 200
    within_leeway = provider.claims("bob@tech.gov.sg", exp=int(time.time()) - 5)
    assert bearer_api("GET", "/api/v1/approvals", provider.sign(within_leeway)).status_code == 200


def test_unknown_kids_refetch_the_key_set_at_most_once_per_interval(oidc_app, bearer_api, provider):
    keys = oidc_app.extensions["oidc"].verifier.keys
    assert bearer_api("GET", "/api/v1/approvals", provider.sign(provider.claims("bob@tech.gov.sg"))).status_code == 200
    assert keys.fetches == 1
    for _ in range(5):
        assert bearer_api("GET", "/api/v1/approvals", provider.sign(provider.claims("bob@tech.gov.sg"), new_key())).status_code == 401
    assert keys.fetches == 1


def test_rotating_the_providers_keys_keeps_new_tokens_working(oidc_app, bearer_api, provider):
    keys = oidc_app.extensions["oidc"].verifier.keys
    keys.refetch_every = 0.5  # seconds; production waits longer between refetches
    before = provider.api_token("bob@tech.gov.sg")
    assert bearer_api("GET", "/api/v1/approvals", before).status_code == 200

    new = provider.rotate_keys()
    time.sleep(keys.refetch_every)
    after = provider.api_token("bob@tech.gov.sg")
    assert json.loads(base64.urlsafe_b64decode(after.split(".")[0] + "==="))["kid"] == new.kid
    assert bearer_api("GET", "/api/v1/approvals", after).status_code == 200
    assert bearer_api("GET", "/api/v1/approvals", before).status_code == 200  # the old key is still published
    assert keys.fetches == 2
    assert AUDIENCE in json.loads(base64.urlsafe_b64decode(after.split(".")[1] + "==="))["aud"]



def _grant_approver(email):
    from intake.db import database
    from intake.models import RoleGrant

    with database.atomic():
        RoleGrant.create(role="approver", email=email)


def test_a_token_whose_email_is_not_verified_is_refused(bearer_api, provider):
    # another account at the provider giving bob's address, unverified: it must not get bob's grant
    _grant_approver("bob@tech.gov.sg")
    unverified = provider.api_token("bob.unverified")
    refused = bearer_api("GET", "/api/v1/approvals", unverified)
    assert refused.status_code == 401, refused.text
    assert 'error_description="The token\'s email address is not verified' in refused.headers["WWW-Authenticate"]
    assert bearer_api("POST", "/api/v1/invites", unverified, json=INVITE).status_code == 401
    for said in ("false", "False", "no", 0, None, "", [True]):
        token = provider.sign(provider.claims("bob@tech.gov.sg", email_verified=said) | {"email_verified": said})
        assert bearer_api("GET", "/api/v1/approvals", token).status_code == 401, said
    assert bearer_api("GET", "/api/v1/approvals", provider.api_token("bob@tech.gov.sg")).status_code == 200


def test_a_token_without_email_verified_is_refused_unless_the_provider_verifies_every_address(
        bearer_api, provider, intake_db, outbox):
    from intake.app import create_app

    _grant_approver("bob@tech.gov.sg")
    unchecked = provider.api_token("bob.unchecked")
    refused = bearer_api("GET", "/api/v1/approvals", unchecked)
    assert refused.status_code == 401, refused.text
    assert "no email_verified claim" in refused.headers["WWW-Authenticate"]

    trusting = create_app(intake_settings.load({"ENV": "test", **provider.settings(), "OIDC_EMAIL_ALWAYS_VERIFIED": "true"}),
                          outbox).test_client()
    headers = {"Authorization": f"Bearer {unchecked}"}
    assert trusting.get("/api/v1/approvals", headers=headers).status_code == 200
    # a provider trusted to verify every address still cannot say an address is unverified
    unverified = {"Authorization": f"Bearer {provider.api_token('bob.unverified')}"}
    assert trusting.get("/api/v1/approvals", headers=unverified).status_code == 401


def test_a_vendor_holding_the_approver_role_cannot_decide_through_the_api(bearer_api, provider):
    # vic@vendor.example.com: approver by the provider's roles claim; val: by a grant in the role table
    created = bearer_api("POST", "/api/v1/invites", provider.api_token("amy@tech.gov.sg"), json=INVITE)
    assert created.status_code == 201, created.text
    invite = created.json["id"]
    _grant_approver("val@vendor.example.com")
    by_claim = provider.api_token("vic@vendor.example.com")
    by_grant = provider.sign(provider.claims("vic@vendor.example.com", sub="val", email="val@vendor.example.com", roles=[]))
    for token in (by_claim, by_grant):
        assert bearer_api("GET", "/api/v1/approvals", token).status_code == 403
        refused = bearer_api("POST", f"/api/v1/invites/{invite}/approve", token, json={})
        assert refused.status_code == 403, refused.text
        assert refused.json["message"] == "Only public officers holding the approver role can decide on requests."
        bulk = bearer_api("POST", "/api/v1/approvals/decisions", token, json={"decisions": [{"id": invite, "decision": "approve"}]})
        assert bulk.status_code == 403
        assert bearer_api("GET", f"/api/v1/invites/{invite}", token).status_code == 404
    assert bearer_api("GET", f"/api/v1/invites/{invite}", provider.api_token("carol@tech.gov.sg")).json["pending_decision"] is None
    assert bearer_api("POST", f"/api/v1/invites/{invite}/approve", provider.api_token("bob@tech.gov.sg"), json={}).status_code == 202
