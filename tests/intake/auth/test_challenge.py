"""What a refused bearer token says never reaches the response: the challenge is one of intake's own texts.

Run against intake as a process (waitress), since it is the HTTP server that must write the header:
a character outside Latin-1 there fails the whole response."""
import base64
import json

import pytest
import requests

APPROVALS = "/api/v1/approvals"


def _part(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _with_header(provider, **header) -> str:
    """A token of the provider's whose header says what the test wants (its signature no longer matters)."""
    signed = provider.sign(provider.claims("bob@tech.gov.sg"))
    return f"{_part({'typ': 'at+jwt', 'kid': provider.keys[0].kid, **header})}.{signed.split('.', 1)[1]}"


# what the token's author chose to put in it, and how
TOKEN_TEXTS = {
    "alg outside Latin-1": lambda p: _with_header(p, alg="RS256\u2603"),
    "alg with quotes and a line break": lambda p: _with_header(p, alg='RS256", error="x\r\nSet-Cookie: a=b'),
    "alg of a made-up name": lambda p: _with_header(p, alg="XYZ512"),
    "kid outside Latin-1": lambda p: p.sign(p.claims("bob@tech.gov.sg"), kid="\u5bc6\u94a5"),
    "email outside Latin-1": lambda p: p.sign(p.claims("bob@tech.gov.sg", email="b\u00f6b\u2603@tech.gov.sg")),
}
TOKEN_SAID = ("RS256", "XYZ512", "\u2603", "\r", "\n", "Set-Cookie", "\u5bc6", "b\u00f6b")


@pytest.mark.parametrize("case", TOKEN_TEXTS, ids=list(TOKEN_TEXTS))
def test_a_refused_token_never_puts_what_it_says_into_the_challenge(intake_process, provider, case):
    token = TOKEN_TEXTS[case](provider)
    response = requests.get(intake_process.base + APPROVALS, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="invite-users", error="invalid_token", error_description="')
    description = challenge.split('error_description="', 1)[1]
    assert description.endswith('"') and '"' not in description[:-1]
    assert [said for said in TOKEN_SAID if said in challenge] == []
    assert response.json()["message"] == description[:-1]
