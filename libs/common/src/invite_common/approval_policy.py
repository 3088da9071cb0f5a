"""The approval policy (APPROVAL_POLICY, TOML or JSON): which levels of approval a request passes, in
order, who decides each, and the requests a rule approves without a person.

One model, two readers: approval routes and records by it, intake previews it ("who will decide"),
fills the queues and checks who may decide by it. Both parse the same file with this module and
ask `Policy.route` the same question, so they cannot disagree on a request's levels.

- A **level** names the role whose holders decide it (`role`), a `fallback` role whose holders
  decide it when every holder of `role` is excluded for a request (they made it, it invites them,
  they decided an earlier level), and optionally `same_agency`: only holders in the requester's own
  organisation domain.
- A **rule** names requests by their method, user type, SEED and offshore flags and the invitee's
  domain (every condition it states must hold; it states at least one). A rule with `levels` says
  which levels the requests it names pass, in order (the first such rule that matches decides); a
  rule without `levels` approves the requests it names in a person's place (the first such rule
  that matches), every level of them, or only the levels its `approves` lists.
- `default_levels` are the levels of a request no `levels` rule names; required once levels exist.

Without levels a request passes one level, `approval`, decided by any `approver`, as before levels
existed. Roles are intake's: a reader that knows them (intake) passes them to `parse`, and a level
naming a role outside them is refused.
"""
from __future__ import annotations

import json
import tomllib
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from invite_common.messages import Method, UserType
from invite_common.people import in_domains

CONDITIONS = ("method", "user_type", "seed_onboarding", "offshore", "invitee_domains", "invitee_in_requester_domain")
# a level's name travels in messages and URLs: short, lower-case, no spaces
_LEVEL_NAME = validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$", error="a level's name is lower-case letters, digits and _ "
                                                               "(at most 32, starting with a letter)")


class PolicyError(ValueError):
    """The policy file cannot be read or states something the services cannot apply; its message is one line."""


class _LevelSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=_LEVEL_NAME)
    title = fields.String(validate=validate.Length(min=1, max=60))
    role = fields.String(validate=validate.Length(min=1, max=32))
    fallback = fields.String(validate=validate.Length(min=1, max=32))
    same_agency = fields.Boolean()


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
    levels = fields.List(fields.String(), validate=validate.Length(min=1))
    approves = fields.List(fields.String(), validate=validate.Length(min=1))


class _PolicySchema(Schema):
    class Meta:
        unknown = RAISE

    levels = fields.List(fields.Nested(_LevelSchema), load_default=list)
    default_levels = fields.List(fields.String(), validate=validate.Length(min=1))
    rules = fields.List(fields.Nested(_RuleSchema), load_default=list)


def _domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


@dataclass(frozen=True)
class Level:
    """One level of approval: who decides it, who when they all cannot, and whether only the requester's agency."""

    name: str
    role: str
    fallback: str | None = None
    same_agency: bool = False
    title: str = ""

    @property
    def label(self) -> str:
        """How pages name the level: its title, or its name in words."""
        return self.title or self.name.replace("_", " ").capitalize()

    def agency_of(self, requester: str) -> str | None:
        """The organisation domain a decider must be in for `requester`'s request, or None when any will do."""
        return _domain(requester) if self.same_agency else None


# The one level of a policy that declares none: any approver decides, as before levels existed.
DEFAULT_LEVEL = Level("approval", "approver", None, False, "Approval")


@dataclass(frozen=True)
class Rule:
    """A rule: a name, the conditions a request must meet, and what it does to the requests it names."""

    name: str
    method: tuple[str, ...] | None = None
    user_type: tuple[str, ...] | None = None
    seed_onboarding: bool | None = None
    offshore: bool | None = None
    invitee_domains: tuple[str, ...] | None = None
    invitee_in_requester_domain: bool | None = None
    # the levels the requests it names pass, in order (a routing rule); None for an auto-approval rule
    levels: tuple[str, ...] | None = None
    # the levels an auto-approval rule approves; None for every level of the request
    approves: tuple[str, ...] | None = None

    @property
    def routes(self) -> bool:
        return self.levels is not None

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
class Route:
    """The levels one request passes, in order, and those an auto-approval rule approves (level → rule)."""

    levels: tuple[Level, ...]
    routed_by: str | None = None  # the rule that named the levels; None for the default ones
    approved_by: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(level.name for level in self.levels)

    def open_levels(self) -> tuple[Level, ...]:
        """The levels a person must decide: those no rule approves."""
        return tuple(level for level in self.levels if level.name not in self.approved_by)

    @property
    def fully_approved(self) -> bool:
        """Every level is approved by a rule: no person decides the request."""
        return not self.open_levels()


@dataclass(frozen=True)
class Policy:
    """The levels and rules of one policy file."""

    levels: dict[str, Level] = field(default_factory=dict)
    default_levels: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    def level(self, name: str) -> Level:
        """The level named `name` (the default one for `approval` when the policy declares none); KeyError otherwise."""
        if not self.levels and name == DEFAULT_LEVEL.name:
            return DEFAULT_LEVEL
        return self.levels[name]

    def first_match(self, request) -> Rule | None:
        """Return the first auto-approval rule that approves `request` (some of its levels or all), or None."""
        return next((rule for rule in self.rules if not rule.routes and rule.matches(request)), None)

    def route(self, request) -> Route:
        """The levels `request` passes, in order, and those an auto-approval rule approves."""
        if not self.levels:
            levels: tuple[Level, ...] = (DEFAULT_LEVEL,)
            routed_by = None
        else:
            rule = next((r for r in self.rules if r.routes and r.matches(request)), None)
            names = rule.levels if rule is not None else self.default_levels
            levels = tuple(self.levels[n] for n in names)
            routed_by = rule.name if rule is not None else None
        approving = self.first_match(request)
        approved_by = {}
        if approving is not None:
            approved_by = {level.name: approving.name for level in levels
                           if approving.approves is None or level.name in approving.approves}
        return Route(levels, routed_by, approved_by)

    def roles(self) -> frozenset[str]:
        """Every role that decides some level, itself or as a fallback."""
        if not self.levels:
            return frozenset({DEFAULT_LEVEL.role})
        return frozenset({level.role for level in self.levels.values()}
                         | {level.fallback for level in self.levels.values() if level.fallback})


# The policy of an unset APPROVAL_POLICY: one level, any approver, no auto-approval.
NO_POLICY = Policy()


def _one_line(messages, path: str = "") -> list[str]:
    """marshmallow's nested error messages as `where: what` lines."""
    if isinstance(messages, dict):
        found = []
        for key, value in messages.items():
            where = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
            found.extend(_one_line(value, where))
        return found
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{path}: {' '.join(messages)}"]
    return [f"{path}: {messages}"]


def _level(item: dict, roles: Collection[str] | None) -> Level:
    name = item["name"]
    for key, what in (("role", "the role whose holders decide it"), ("fallback", "a fallback role for when every "
                                                                                  "holder of its role is excluded")):
        if key not in item:
            raise PolicyError(f"level {name!r} names no {key}: give {what}")
        if roles is not None and item[key] not in roles:
            raise PolicyError(f"level {name!r} names the {key} {item[key]!r}, which is not a role "
                              f"(the roles are {', '.join(sorted(roles))})")
    if item["fallback"] == item["role"]:
        raise PolicyError(f"level {name!r} falls back to its own role {item['role']!r}: name another role")
    return Level(name, item["role"], item["fallback"], bool(item.get("same_agency", False)), item.get("title", ""))


def parse(text: str, *, suffix: str, roles: Collection[str] | None = None) -> Policy:
    """Read a policy from its text: TOML (`[[levels]]`, `[[rules]]` tables) or JSON (`{"levels": [...], "rules": [...]}`).

    `roles` are the roles a level may name (intake's); None accepts any (approval does not know them)."""
    try:
        raw = json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"the policy file is not valid {'JSON' if suffix == '.json' else 'TOML'}: "
                          f"{' '.join(str(exc).split())}") from None
    try:
        data = _PolicySchema().load(raw)
    except ValidationError as exc:
        raise PolicyError(f"the policy file has problems: {'; '.join(_one_line(exc.messages))}") from None
    levels: dict[str, Level] = {}
    for item in data["levels"]:
        if item["name"] in levels:
            raise PolicyError(f"two levels are named {item['name']!r}; the history must tell them apart")
        levels[item["name"]] = _level(item, roles)

    def known(names: list[str], where: str) -> tuple[str, ...]:
        for name in names:
            if name not in levels:
                raise PolicyError(f"{where} names the level {name!r}, which the policy does not declare")
        if len(set(names)) != len(names):
            raise PolicyError(f"{where} names a level twice: nobody decides one level twice")
        return tuple(names)

    if levels and "default_levels" not in data:
        raise PolicyError("the policy declares levels but no default_levels: say which levels a request no rule "
                          "routes passes")
    default = known(data.get("default_levels", []), "default_levels")
    rules = []
    names = set()
    for item in data["rules"]:
        where = f"rule {item['name']!r}"
        if not any(name in item for name in CONDITIONS):
            what = "routes every request" if "levels" in item else "would approve every request"
            raise PolicyError(f"{where} states no condition; it {what} (use default_levels for that)"
                              if "levels" in item else f"{where} states no condition; it {what}")
        if item["name"] in names:
            raise PolicyError(f"two rules are named {item['name']!r}; the history must tell them apart")
        if any(unicodedata.category(c) == "Cc" for c in item["name"]):
            # the name is one line of the history, and of each request's record of its levels
            raise PolicyError(f"{where} has a control character (a line break?) in its name: write it on one line")
        if "levels" in item and "approves" in item:
            raise PolicyError(f"{where} both routes (levels) and approves (approves): make them two rules")
        if ("levels" in item or "approves" in item) and not levels:
            raise PolicyError(f"{where} names levels, but the policy declares none")
        names.add(item["name"])
        rules.append(Rule(
            name=item["name"],
            method=tuple(item["method"]) if "method" in item else None,
            user_type=tuple(item["user_type"]) if "user_type" in item else None,
            seed_onboarding=item.get("seed_onboarding"),
            offshore=item.get("offshore"),
            invitee_domains=tuple(d.strip().lower().strip(".") for d in item["invitee_domains"]) if "invitee_domains" in item else None,
            invitee_in_requester_domain=item.get("invitee_in_requester_domain"),
            levels=known(item["levels"], where) if "levels" in item else None,
            approves=known(item["approves"], where) if "approves" in item else None,
        ))
    return Policy(levels, default, tuple(rules))


def load(path: str, *, roles: Collection[str] | None = None) -> Policy:
    """Read the policy file at `path` (APPROVAL_POLICY); NO_POLICY when no path is set."""
    if not path:
        return NO_POLICY
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read the policy file {path}: {exc.strerror}") from None
    return parse(text, suffix=file.suffix.lower(), roles=roles)
