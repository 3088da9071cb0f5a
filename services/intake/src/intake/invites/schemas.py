"""Marshmallow schemas for invite requests and approvers' decisions, built on intake's field rules."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from flask import current_app, has_app_context
from invite_common.messages import Decision, Method, UserType

from intake.validation import patterns
from intake.validation.fields import Rule
from intake.validation.problems import declare
from intake.validation.shapes import Shape
from intake.validation.rules import (
    DEFAULT_ORG_EMAIL_DOMAINS,
    NAME_MAX_LENGTH,
    ORGANISATION_MAX_LENGTH,
    REASON_MAX_LENGTH,
    clean_text,
    in_org_domains,
    normalise_email,
    normalise_phone,
    normalise_username,
    parse_org_domains,
    vendor_username_problem,
)

# as many as the default decide limit lets through in one window, with room: a bulk of more could
# never pass RATE_LIMIT_DECIDE (120/minute), so the document would promise what the server refuses
MAX_BULK_DECISIONS = 100
# the messages a page words its own way (portal/forms.py), by their codes
BULK_SIZE = declare("decisions.count", f"Give between 1 and {MAX_BULK_DECISIONS} decisions.")
METHOD_CHOICE = declare("method.choice", "Choose the method: email_invitation or create_account.")
USER_TYPE_CHOICE = declare("user_type.choice", "Choose the user type: public_officer or vendor.")
REJECTION_REASON = declare("reason.rejection", "Enter the reason for rejecting.")
DECISION_CHOICE = declare("decision.choice", "Choose the decision: approve or reject.")

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


def _given(data: Mapping[str, Any], name: str) -> bool:
    """Tell whether a field carries a value: null and blank text count as not given."""
    value = data.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _text(label: str, max_length: int, *, multiline: bool = False, **kwargs: Any) -> Rule:
    """Free text, as clean_text takes it (line breaks only where the page has a text box)."""
    rule = partial(clean_text, field_label=label, max_length=max_length, allow_newlines=multiline)
    return Rule(rule, patterns.text(max_length, multiline=multiline), **kwargs)


class EdgeSchema(Schema):
    """Base of every schema that reads user input: unknown fields refused, blank values absent."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "This field is not accepted; remove it."}

    @pre_load
    def drop_blank_values(self, data: Any, **kwargs: Any) -> Any:
        """Treat null and blank text as not given, so form posts and CSV rows read like JSON."""
        if not isinstance(data, Mapping):
            return data
        # Unknown keys stay, even blank, so they are still refused by name.
        return {k: v for k, v in data.items() if k not in self.fields or _given(data, k)}


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
    first_name = _text("First name", NAME_MAX_LENGTH)
    last_name = _text("Last name", NAME_MAX_LENGTH)
    contact_number = Rule(normalise_phone, patterns.PHONE)
    organisation = _text("Organisation", ORGANISATION_MAX_LENGTH)
    department = _text("Department", ORGANISATION_MAX_LENGTH)
    seed_onboarding = fields.Boolean(error_messages={"invalid": "Choose yes or no."})
    offshore = fields.Boolean(error_messages={"invalid": "Choose yes or no."})
    reason = _text(
        "Reason", REASON_MAX_LENGTH, multiline=True,
        required=True, error_messages={"required": "Enter the reason for this request."},
    )

    # What each method and user type asks for, as check_method_rules holds it (DESIGN section 5).
    shapes = (
        Shape("Email invitation", {"method": [Method.EMAIL_INVITATION]},
              required=("method", "email", "seed_onboarding", "reason")),
        Shape("Account for a public officer", {"method": [Method.CREATE_ACCOUNT], "user_type": [UserType.PUBLIC_OFFICER]},
              required=("method", "email", *CREATE_ACCOUNT_REQUIRED, "seed_onboarding", "reason"),
              optional=("department",)),
        Shape("Account for a vendor", {"method": [Method.CREATE_ACCOUNT], "user_type": [UserType.VENDOR], "offshore": [False]},
              required=("method", "email", "username", *CREATE_ACCOUNT_REQUIRED, "seed_onboarding", "reason"),
              optional=("department", "offshore")),
        Shape("Account for an offshore vendor (SEED onboarding always)",
              {"method": [Method.CREATE_ACCOUNT], "user_type": [UserType.VENDOR], "offshore": [True], "seed_onboarding": [True]},
              required=("method", "email", "username", *CREATE_ACCOUNT_REQUIRED, "offshore", "reason"),
              optional=("department", "seed_onboarding")),
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
            if _given(given, name):
                errors[name] = [NOT_FOR_EMAIL_INVITATION]
        if not _given(given, "seed_onboarding"):
            errors["seed_onboarding"] = [SEED_REQUIRED]
        if "email" in data and not self._is_officer_address(data["email"]):
            errors["email"] = [self._officer_address_needed("An email invitation")]

    def _check_create_account(
        self, data: Mapping[str, Any], given: Mapping[str, Any], errors: dict[str, list[str]]
    ) -> None:
        # A field that failed its own rule is absent from data but present in given: it has its error already.
        for name, message in CREATE_ACCOUNT_REQUIRED.items():
            if not _given(given, name):
                errors[name] = [message]
        offshore_vendor = data.get("user_type") == UserType.VENDOR and data.get("offshore") is True
        if offshore_vendor and data.get("seed_onboarding") is False:
            errors["seed_onboarding"] = ["Offshore vendors always need SEED onboarding."]
        elif not offshore_vendor and not _given(given, "seed_onboarding"):
            errors["seed_onboarding"] = [SEED_REQUIRED]
        if data.get("user_type") == UserType.VENDOR and not _given(given, "username"):
            errors["username"] = ["Enter the vendor's TechPass username."]
        elif data.get("user_type") == UserType.VENDOR and "username" in data:
            problem = vendor_username_problem(data["username"])
            if problem:
                errors["username"] = [problem]
        if data.get("user_type") == UserType.PUBLIC_OFFICER:
            if _given(given, "username"):
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
    username = fields.String(dump_only=True)
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


class ApproveSchema(EdgeSchema):
    """An approval, with an optional comment."""

    comment = _text("Comment", REASON_MAX_LENGTH, multiline=True)

    @post_load
    def with_comment(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Return the decision with comment None when none was given."""
        return {"comment": data.get("comment")}


class RejectSchema(EdgeSchema):
    """A rejection, which always says why."""

    reason = _text(
        "Reason", REASON_MAX_LENGTH, multiline=True,
        required=True, error_messages={"required": REJECTION_REASON},
    )


class DecisionItemSchema(EdgeSchema):
    """One decision in a bulk decision: approve with an optional comment, or reject with a reason."""

    # any text is looked up (an unknown one is that item's 404); the document asks for a request's id
    id = Rule(partial(clean_text, field_label="Request id", max_length=64), patterns.UUID,
              required=True, error_messages={"required": "Give the request id."})
    decision = fields.String(
        required=True,
        validate=validate.OneOf(Decision.ALL, error=DECISION_CHOICE),
        error_messages={"required": DECISION_CHOICE, "invalid": DECISION_CHOICE},
    )
    comment = _text("Comment", REASON_MAX_LENGTH, multiline=True)
    reason = _text("Reason", REASON_MAX_LENGTH, multiline=True)

    # as check_decision_fields holds it
    shapes = (
        Shape("Approve", {"decision": [Decision.APPROVE]}, required=("id", "decision"), optional=("comment",)),
        Shape("Reject", {"decision": [Decision.REJECT]}, required=("id", "decision", "reason")),
    )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_decision_fields(self, data: dict[str, Any], original_data: Any, **kwargs: Any) -> None:
        """Require a reason to reject; refuse the other decision's field as the single calls do."""
        if not isinstance(original_data, Mapping):
            return
        errors: dict[str, list[str]] = {}
        if data.get("decision") == Decision.REJECT:
            if not _given(original_data, "reason"):
                errors["reason"] = [REJECTION_REASON]
            if _given(original_data, "comment"):
                errors["comment"] = ["A rejection takes a reason, not a comment."]
        if data.get("decision") == Decision.APPROVE and _given(original_data, "reason"):
            errors["reason"] = ["An approval takes a comment, not a reason."]
        if errors:
            raise ValidationError(errors)

    @post_load
    def to_decision(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Return the decision with every key present."""
        return {
            "id": data["id"],
            "decision": data["decision"],
            "comment": data.get("comment"),
            "reason": data.get("reason"),
        }


class BulkDecisionSchema(EdgeSchema):
    """Up to 200 decisions taken at once, each on a different request."""

    decisions = fields.List(
        fields.Nested(DecisionItemSchema),
        required=True,
        validate=validate.Length(
            min=1, max=MAX_BULK_DECISIONS, error=BULK_SIZE
        ),
        error_messages={
            "required": "Give the list of decisions.",
            "invalid": "Give the decisions as a list.",
        },
        # a request decided twice is refused (check_each_request_once); the document can say as much of it
        metadata={"uniqueItems": True},
    )

    @validates_schema
    def check_each_request_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Refuse a request decided twice in one go: the second decision would contradict the first."""
        seen: set[str] = set()
        errors: dict[int, dict[str, list[str]]] = {}
        for index, item in enumerate(data.get("decisions", [])):
            if item["id"] in seen:
                errors[index] = {"id": ["This request already has a decision in this list."]}
            seen.add(item["id"])
        if errors:
            raise ValidationError({"decisions": errors})
