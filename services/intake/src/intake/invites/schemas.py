"""The schema of an invite request, as the API, the portal's forms and batch rows submit it, and as the API shows it."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import current_app, has_app_context
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from invite_common.messages import Method, UserType

from intake.validation import patterns
from intake.validation.edge import EdgeSchema, is_given, text_rule
from intake.validation.fields import Rule
from intake.validation.problems import declare
from intake.validation.shapes import Shape
from intake.validation.rules import (
    DEFAULT_ORG_EMAIL_DOMAINS,
    NAME_MAX_LENGTH,
    ORGANISATION_MAX_LENGTH,
    REASON_MAX_LENGTH,
    in_org_domains,
    normalise_email,
    normalise_phone,
    normalise_username,
    parse_org_domains,
    vendor_username_problem,
)

# the messages a page words its own way (portal/forms.py), by their codes
METHOD_CHOICE = declare("method.choice", "Choose the method: email_invitation or create_account.")
USER_TYPE_CHOICE = declare("user_type.choice", "Choose the user type: public_officer or vendor.")

# Fields an email invitation leaves to the invitee; giving one is a mistake worth pointing at.
CREATE_ACCOUNT_ONLY = (
    "user_type", "username", "first_name", "last_name", "contact_number",
    "organisation", "department", "offshore",
)
CREATE_ACCOUNT_REQUIRED = {
    "user_type": USER_TYPE_CHOICE,
    "first_name": "First name is required.",
    "last_name": "Last name is required.",
    "contact_number": "Enter a contact number.",
    "organisation": "Organisation is required.",
}
NOT_FOR_EMAIL_INVITATION = "Not used for an email invitation; leave it empty or choose create_account."
USERNAME_FROM_EMAIL = "The username is derived from the email for public officers; leave it empty."
SEED_REQUIRED = "Say whether the invitee needs SEED onboarding (yes or no)."
OFFICERS_ONLY = declare("email.officers_only", "{message} A vendor is invited with create_account instead.")


class InviteRequestSchema(EdgeSchema):
    """An invite request as submitted through the API, a portal page or a batch row."""

    method = fields.String(
        required=True,
        validate=validate.OneOf(Method.ALL, error=METHOD_CHOICE),
        error_messages={"required": METHOD_CHOICE, "invalid": METHOD_CHOICE},
    )
    email = Rule(normalise_email, patterns.EMAIL, required=True, error_messages={"required": "Enter an email address."})
    user_type = fields.String(
        validate=validate.OneOf(UserType.ALL, error=USER_TYPE_CHOICE),
        error_messages={"invalid": USER_TYPE_CHOICE},
    )
    username = Rule(normalise_username, patterns.USERNAME)
    first_name = text_rule("First name", NAME_MAX_LENGTH)
    last_name = text_rule("Last name", NAME_MAX_LENGTH)
    contact_number = Rule(normalise_phone, patterns.PHONE)
    organisation = text_rule("Organisation", ORGANISATION_MAX_LENGTH)
    department = text_rule("Department", ORGANISATION_MAX_LENGTH)
    seed_onboarding = fields.Boolean(error_messages={"invalid": "Choose yes or no."})
    offshore = fields.Boolean(error_messages={"invalid": "Choose yes or no."})
    reason = text_rule(
        "Reason", REASON_MAX_LENGTH, multiline=True,
        required=True, error_messages={"required": "Enter the reason for this request."},
    )
    repeats = fields.UUID(
        metadata={"description": "The id of an earlier request of yours, rejected, cancelled, expired, failed or "
                                 "closed, that this one asks for again: both requests' histories then link to "
                                 "each other."},
        error_messages={"invalid_uuid": "Give the id of the earlier request this one repeats."},
    )

    # What each method and user type asks for, as check_method_rules holds it (DESIGN section 5).
    shapes = (
        Shape("Email invitation", {"method": [Method.EMAIL_INVITATION]},
              required=("method", "email", "seed_onboarding", "reason"), optional=("repeats",)),
        Shape("Account for a public officer", {"method": [Method.CREATE_ACCOUNT], "user_type": [UserType.PUBLIC_OFFICER]},
              required=("method", "email", *CREATE_ACCOUNT_REQUIRED, "seed_onboarding", "reason"),
              optional=("department", "repeats")),
        Shape("Account for a vendor", {"method": [Method.CREATE_ACCOUNT], "user_type": [UserType.VENDOR], "offshore": [False]},
              required=("method", "email", "username", *CREATE_ACCOUNT_REQUIRED, "seed_onboarding", "reason"),
              optional=("department", "offshore", "repeats")),
        Shape("Account for an offshore vendor (SEED onboarding always)",
              {"method": [Method.CREATE_ACCOUNT], "user_type": [UserType.VENDOR], "offshore": [True], "seed_onboarding": [True]},
              required=("method", "email", "username", *CREATE_ACCOUNT_REQUIRED, "offshore", "reason"),
              optional=("department", "seed_onboarding", "repeats")),
    )

    def __init__(self, *, org_domains: Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(org_domains, str):
            raise TypeError("org_domains is a list of domains; use parse_org_domains on the raw setting")
        self._org_domains = None if org_domains is None else parse_org_domains(",".join(org_domains))

    @property
    def org_domains(self) -> tuple[str, ...]:
        """The domains given, else the running app's ORG_EMAIL_DOMAINS (the API's schema is built
        before any app exists), else the default."""
        if self._org_domains is not None:
            return self._org_domains
        if has_app_context() and "ORG_DOMAINS" in current_app.config:
            return current_app.config["ORG_DOMAINS"]
        return parse_org_domains(DEFAULT_ORG_EMAIL_DOMAINS)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_method_rules(self, data: dict[str, Any], original_data: Any, **kwargs: Any) -> None:
        """Apply what each method and user type needs, refuses and implies."""
        if not isinstance(original_data, Mapping):
            return
        errors: dict[str, list[str]] = {}
        if data.get("method") == Method.EMAIL_INVITATION:
            self._check_email_invitation(data, original_data, errors)
        elif data.get("method") == Method.CREATE_ACCOUNT:
            self._check_create_account(data, original_data, errors)
        if errors:
            raise ValidationError(errors)

    def _check_email_invitation(
        self, data: Mapping[str, Any], given: Mapping[str, Any], errors: dict[str, list[str]]
    ) -> None:
        for name in CREATE_ACCOUNT_ONLY:
            if is_given(given, name):
                errors[name] = [NOT_FOR_EMAIL_INVITATION]
        if not is_given(given, "seed_onboarding"):
            errors["seed_onboarding"] = [SEED_REQUIRED]
        if "email" in data and not self._is_officer_address(data["email"]):
            # a vendor (or anyone else outside the organisation) is given an account instead
            errors["email"] = [OFFICERS_ONLY.format(message=self._officer_address_needed("An email invitation"))]

    def _check_create_account(
        self, data: Mapping[str, Any], given: Mapping[str, Any], errors: dict[str, list[str]]
    ) -> None:
        # A field that failed its own rule is absent from data but present in given: it has its error already.
        for name, message in CREATE_ACCOUNT_REQUIRED.items():
            if not is_given(given, name):
                errors[name] = [message]
        offshore_vendor = data.get("user_type") == UserType.VENDOR and data.get("offshore") is True
        if offshore_vendor and data.get("seed_onboarding") is False:
            errors["seed_onboarding"] = ["Offshore vendors always need SEED onboarding."]
        elif not offshore_vendor and not is_given(given, "seed_onboarding"):
            errors["seed_onboarding"] = [SEED_REQUIRED]
        if data.get("user_type") == UserType.VENDOR and not is_given(given, "username"):
            errors["username"] = ["Enter the vendor's TechPass username."]
        elif data.get("user_type") == UserType.VENDOR and "username" in data:
            problem = vendor_username_problem(data["username"])
            if problem:
                errors["username"] = [problem]
        if data.get("user_type") == UserType.PUBLIC_OFFICER:
            if is_given(given, "username"):
                errors["username"] = [USERNAME_FROM_EMAIL]
            if data.get("offshore") is True:
                errors["offshore"] = ["Only vendors can be offshore."]
            if "email" in data and not self._is_officer_address(data["email"]):
                errors["email"] = [self._officer_address_needed("A public officer account")]

    def _is_officer_address(self, email: str) -> bool:
        # The email field has normalised the address already; only the domain is left to compare.
        return in_org_domains(email.rpartition("@")[2], self.org_domains)

    def _officer_address_needed(self, subject: str) -> str:
        domains = " or ".join(self.org_domains)
        return f"{subject} needs a public officer address ending in {domains}."

    @post_load
    def to_invite_request(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Return every request field normalised, with the values the method and user type imply."""
        user_type = data.get("user_type", UserType.PUBLIC_OFFICER)
        offshore = data.get("offshore", False)
        return {
            "method": data["method"],
            "email": data["email"],
            "user_type": user_type,
            "username": data.get("username"),
            "first_name": data.get("first_name"),
            "last_name": data.get("last_name"),
            "contact_number": data.get("contact_number"),
            "organisation": data.get("organisation"),
            "department": data.get("department"),
            # Offshore vendors always need SEED, whether or not the requester said so.
            "seed_onboarding": True if offshore else data["seed_onboarding"],
            "offshore": offshore,
            "reason": data["reason"],
            "repeats": str(data["repeats"]) if data.get("repeats") else None,
        }


VENDOR_OFFICER_ADDRESS = (
    "This vendor has a public officer email address. Vendors usually use their company’s address; "
    "check the address and that the person is a vendor, not a public officer."
)


def vendor_with_officer_address(request: Mapping[str, Any], org_domains: Iterable[str]) -> bool:
    """Tell whether a checked request is for a vendor at a public-officer address.

    Allowed, with a warning the requester acknowledges: a contractor embedded in an agency can be
    given an agency mailbox, and refusing would push requesters to call a vendor an officer, which
    skips the vendor's username and offshore SEED rules."""
    email = request.get("email") or ""
    return request.get("user_type") == UserType.VENDOR and in_org_domains(email.rpartition("@")[2], tuple(org_domains))


class InviteSchema(Schema):
    """An invite request as the API shows it."""

    id = fields.String(dump_only=True)
    method = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    user_type = fields.String(dump_only=True)
    # null until approval gives one: an officer's account is named from their address when it is made
    username = fields.String(dump_only=True, allow_none=True)
    first_name = fields.String(dump_only=True)
    last_name = fields.String(dump_only=True)
    contact_number = fields.String(dump_only=True)
    organisation = fields.String(dump_only=True)
    department = fields.String(dump_only=True)
    seed_onboarding = fields.Boolean(dump_only=True)
    offshore = fields.Boolean(dump_only=True)
    reason = fields.String(dump_only=True)
    requester = fields.String(dump_only=True)
    state = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
