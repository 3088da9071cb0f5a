"""Whom a provider's claims name: one rule for the API's bearer tokens and the portal's sign-in.

Intake knows people by email (grants in the role table, requests, history), so a token names a
person only when the provider vouches for the address: `email_verified` must be true. A provider
that lets its users type any address, unverified, would otherwise hand out another person's
roles. A token without the claim is taken only from a provider configured as one that verifies
every address it issues (OIDC_EMAIL_ALWAYS_VERIFIED), since many workforce providers leave it out.
"""
from __future__ import annotations

from marshmallow import ValidationError

from intake.validation.rules import normalise_email

# Why the claims name nobody; each a fixed text (a bearer token's reason goes into WWW-Authenticate).
NO_EMAIL = "The token does not name a person (no email claim)."
NOT_VERIFIED = "The token's email address is not verified by the provider (email_verified is not true)."
VERIFICATION_UNKNOWN = "The token does not say the provider verified its email address (no email_verified claim)."
INVALID_EMAIL = "The token's email is not a valid address."


class UnusableEmail(Exception):
    """The claims name no person intake may trust; the message is one of this module's fixed reasons."""


def _verified(value: object) -> bool:
    # a JSON true; some providers send the string "true" instead
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def verified_email(claims: dict, *, always_verified: bool) -> str:
    """The claims' email, normalised, when the provider vouches for it; raise UnusableEmail otherwise."""
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise UnusableEmail(NO_EMAIL)
    if "email_verified" in claims:
        if not _verified(claims["email_verified"]):
            raise UnusableEmail(NOT_VERIFIED)
    elif not always_verified:
        raise UnusableEmail(VERIFICATION_UNKNOWN)
    try:
        return normalise_email(email)
    except ValidationError:
        raise UnusableEmail(INVALID_EMAIL) from None
