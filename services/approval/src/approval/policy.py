"""Auto-approval rules, declared as data in one file (APPROVAL_POLICY, TOML or JSON): requests no approver needs to see.

A rule names the requests it covers by their method, user type, SEED and offshore flags and the
invitee's email domain; every condition a rule states must hold, and a rule must state at least
one. The first rule that matches approves the request in the rule's name. Separation of duties and
the one-account rule are checked by the workflow as for a person's approval; a rule only stands
in for the approver.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from invite_common.messages import Method, UserType
from invite_common.people import in_domains

CONDITIONS = ("method", "user_type", "seed_onboarding", "offshore", "invitee_domains", "invitee_in_requester_domain")


class PolicyError(ValueError):
    """The policy file cannot be read or states a rule the service cannot apply."""


class _RuleSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    method = fields.List(fields.String(validate=validate.OneOf(Method.ALL)), validate=validate.Length(min=1))
    user_type = fields.List(fields.String(validate=validate.OneOf(UserType.ALL)), validate=validate.Length(min=1))
    seed_onboarding = fields.Boolean()
    offshore = fields.Boolean()
    invitee_domains = fields.List(fields.String(validate=validate.Length(min=1)), validate=validate.Length(min=1))
    invitee_in_requester_domain = fields.Boolean()


class _PolicySchema(Schema):
    class Meta:
        unknown = RAISE

    rules = fields.List(fields.Nested(_RuleSchema), required=True)


def _domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


@dataclass(frozen=True)
class Rule:
    """One auto-approval rule: a name, and the conditions a request must meet."""

    name: str
    method: tuple[str, ...] | None = None
    user_type: tuple[str, ...] | None = None
    seed_onboarding: bool | None = None
    offshore: bool | None = None
    invitee_domains: tuple[str, ...] | None = None
    invitee_in_requester_domain: bool | None = None

    def matches(self, request) -> bool:
        """Tell whether `request` (anything with the request's fields) meets every condition of this rule."""
        invitee = _domain(request.email)
        checks = (
            self.method is None or request.method in self.method,
            self.user_type is None or request.user_type in self.user_type,
            self.seed_onboarding is None or bool(request.seed_onboarding) == self.seed_onboarding,
            self.offshore is None or bool(request.offshore) == self.offshore,
            # a domain covers its subdomains, at a label boundary (x.tech.gov.sg yes, eviltech.gov.sg no)
            self.invitee_domains is None or in_domains(invitee, self.invitee_domains),
            self.invitee_in_requester_domain is None
            or (invitee == _domain(request.requester)) == self.invitee_in_requester_domain,
        )
        return all(checks)


@dataclass(frozen=True)
class Policy:
    """The rules of one policy file, in the order they are tried."""

    rules: tuple[Rule, ...] = ()

    def first_match(self, request) -> Rule | None:
        """Return the first rule that approves `request`, or None when an approver must decide."""
        return next((rule for rule in self.rules if rule.matches(request)), None)


def parse(text: str, *, suffix: str) -> Policy:
    """Read a policy from its text: TOML (`[[rules]]` tables) or JSON (`{"rules": [...]}`)."""
    try:
        raw = json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"the policy file is not valid {'JSON' if suffix == '.json' else 'TOML'}: {exc}") from None
    try:
        data = _PolicySchema().load(raw)
    except ValidationError as exc:
        raise PolicyError(f"the policy file has problems: {exc.messages}") from None
    rules = []
    names = set()
    for item in data["rules"]:
        if not any(name in item for name in CONDITIONS):
            # a rule without conditions would approve every request: surely a mistake
            raise PolicyError(f"rule {item['name']!r} states no condition; it would approve every request")
        if item["name"] in names:
            raise PolicyError(f"two rules are named {item['name']!r}; the history must tell them apart")
        names.add(item["name"])
        rules.append(Rule(
            name=item["name"],
            method=tuple(item["method"]) if "method" in item else None,
            user_type=tuple(item["user_type"]) if "user_type" in item else None,
            seed_onboarding=item.get("seed_onboarding"),
            offshore=item.get("offshore"),
            invitee_domains=tuple(d.strip().lower().strip(".") for d in item["invitee_domains"]) if "invitee_domains" in item else None,
            invitee_in_requester_domain=item.get("invitee_in_requester_domain"),
        ))
    return Policy(tuple(rules))


def load(path: str) -> Policy | None:
    """Read the policy file at `path` (APPROVAL_POLICY); None when no path is set (auto-approval is off)."""
    if not path:
        return None
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read the policy file {path}: {exc.strerror}") from None
    return parse(text, suffix=file.suffix.lower())
