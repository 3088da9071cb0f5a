"""The request lifecycle, declared once as data: states, the verbs between them, and the policy checks."""
from __future__ import annotations

import unicodedata
from types import MappingProxyType
from typing import Mapping

from invite_common.errors import PermanentError
from invite_common.messages import State, Step, UserType, Verb
from invite_common.people import is_public_officer, same_person

# The states and verbs are wire values, named in the message contracts; this table gives them meaning.
STATES: tuple[str, ...] = State.ALL

# `failed` is deliberately absent: an operator's retry brings it back to life, or their `close`
# ends it. A terminal request never leaves its state (an emailed one may be `resend`, which keeps
# it emailed).
TERMINAL: frozenset[str] = State.FINAL

# Placeholder target of `retry`: the state the request failed from, known only per request.
FAILED_FROM = "<failed from>"

TRANSITIONS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    # verb                from                   -> to
    Verb.APPROVE:         {State.SUBMITTED:       State.APPROVED},
    # a level of several approved: the request waits, still submitted, in the next level (its sub-state)
    Verb.APPROVE_LEVEL:   {State.SUBMITTED:       State.SUBMITTED},
    Verb.REJECT:          {State.SUBMITTED:       State.REJECTED},
    Verb.CANCEL:          {State.SUBMITTED:       State.CANCELLED},
    Verb.EXPIRE:          {State.SUBMITTED:       State.EXPIRED},
    Verb.PROVISION:       {State.APPROVED:        State.ACCOUNT_CREATED},
    Verb.REQUEST_SEED:    {State.ACCOUNT_CREATED: State.SEED_REQUESTED},
    Verb.MARK_EMAILED:    {State.ACCOUNT_CREATED: State.EMAILED,
                           State.SEED_REQUESTED:  State.EMAILED},
    Verb.FAIL:            {State.APPROVED:        State.FAILED,
                           State.ACCOUNT_CREATED: State.FAILED,
                           State.SEED_REQUESTED:  State.FAILED},
    Verb.RETRY:           {State.FAILED:          FAILED_FROM},
    # nothing left to retry (the invitee already has an account, say): an operator ends it with a reason
    Verb.CLOSE:           {State.FAILED:          State.CLOSED},
    # a sent invitation delivered again stays sent; recorded so the history shows the delivery
    Verb.RESEND:          {State.EMAILED:         State.EMAILED},
})

# The states in which a request waits for an approver's decision: those `approve` leaves from.
# Expiry and a decision given up on ask this, so a new waiting state is a row of the table alone.
AWAITING_DECISION: frozenset[str] = frozenset(TRANSITIONS[Verb.APPROVE])

# The step that follows account creation when no SEED booking is needed. It is not a
# transition: `mark_emailed` only happens once the notifier reports the email as sent.
SEND_INVITATION_EMAIL = "send_invitation_email"


# An operator's reason for closing a request is shown to its requester, on the portal and in an email.
CLOSING_REASON_MAX = 1000
# Unicode's embedding, override and isolate controls: they reorder the text around them on screen.
_DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class InvalidTransition(PermanentError):
    """The verb is not allowed from the request's current state (late, duplicate or out-of-order)."""


class InvalidReason(PermanentError):
    """A reason that cannot be shown to a requester as given: empty, too long, or with control characters."""


class SeparationOfDutiesViolation(PermanentError):
    """An approver tried to decide on their own request, an invitation of themselves, or a second level of one request."""


class SelfInvitation(PermanentError):
    """A requester asked for an account for themselves."""


class NotAPublicOfficer(PermanentError):
    """A decision came from someone outside the organisation: only public officers approve."""


def next_state(current: str, verb: str, *, failed_from: str | None = None) -> str:
    """Return the state `verb` moves a request in `current` to, or raise InvalidTransition.

    `failed_from` is the state a failed request failed from; only `retry` reads it, so callers
    may pass whatever they stored for every verb. A `fail` caller should store `current` as it.
    """
    target = TRANSITIONS.get(verb, {}).get(current)
    if target is None:
        raise InvalidTransition(f"cannot {verb} a request that is {current}")
    if target == FAILED_FROM:
        # Only states `fail` leaves from can be resumed; anything else is a corrupt record.
        if failed_from not in TRANSITIONS[Verb.FAIL]:
            raise InvalidTransition(f"cannot retry a request that failed from {failed_from!r}")
        return failed_from
    return target


def check_closing_reason(reason: str) -> str:
    """Return the operator's reason for closing a request, trimmed, or raise InvalidReason.

    The requester reads it on the portal and in an email: a control character (a line break
    included: it is one sentence for one request) or a direction override could disguise it."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidReason("a closed request needs a reason its requester can read")
    if len(reason) > CLOSING_REASON_MAX:
        raise InvalidReason(f"the reason is {len(reason)} characters long; at most {CLOSING_REASON_MAX}")
    if any(unicodedata.category(c) == "Cc" or c in _DIRECTION_CONTROLS for c in reason):
        raise InvalidReason("the reason contains control characters; write it as plain text on one line")
    return reason


def check_public_officer(actor: str, org_domains: tuple[str, ...]) -> None:
    """Refuse a decision whose actor's address is not in ORG_EMAIL_DOMAINS, whatever role intake saw."""
    if not is_public_officer(actor, org_domains):
        raise NotAPublicOfficer("only a public officer can decide on a request")


# Who is who: addresses are compared as people (invite_common.people), so bob+x@ is bob.
def check_not_requester(requester: str, actor: str) -> None:
    """Refuse a decision taken by the person who asked for the invite."""
    if same_person(requester, actor):
        raise SeparationOfDutiesViolation("an approver cannot decide on their own request")


def check_not_invitee(invitee: str, actor: str) -> None:
    """Refuse a decision taken by the person the request would invite."""
    if same_person(invitee, actor):
        raise SeparationOfDutiesViolation("an approver cannot decide on an invitation of themselves")


def check_not_earlier_decider(deciders: list[str], actor: str) -> None:
    """Refuse a decision by someone who decided an earlier level of the request (or was stood in for there)."""
    if any(same_person(decider, actor) for decider in deciders):
        raise SeparationOfDutiesViolation("an approver cannot decide two levels of one request")


def check_may_decide(request_requester: str, invitee: str, deciders: list[str], person: str) -> None:
    """Separation of duties for one person taking (or standing in for) a decision: not the requester,
    not the invitee, and no decider of an earlier level."""
    check_not_requester(request_requester, person)
    check_not_invitee(invitee, person)
    check_not_earlier_decider(deciders, person)


def check_not_self_invitation(requester: str, invitee: str) -> None:
    """Refuse a request whose requester is also its invitee: nobody asks for their own account."""
    if same_person(requester, invitee):
        raise SelfInvitation("a requester cannot invite themselves")


def needs_seed(user_type: str, seed_onboarding: bool, offshore: bool) -> bool:
    """Say whether the invitee's device must be booked for SEED onboarding."""
    if user_type not in UserType.ALL:
        raise ValueError(f"unknown user type {user_type!r}")
    # Offshore vendor devices always reach government systems over the internet.
    return bool(seed_onboarding) or (user_type == UserType.VENDOR and bool(offshore))


def waits_for(state: str, step: str) -> bool:
    """Say whether a request in `state` waits for the automatic `step`: the step's verb leaves from that state."""
    return state in TRANSITIONS.get(step, {})


# The next step: what runs after a decision, after account creation and on an operator's retry.
def step_after_approval() -> str:
    """Return the step an approved request takes first: creating its account."""
    return Step.PROVISION


def step_after_account(needs_seed: bool) -> str:
    """Return the step once the account exists: book SEED (`request_seed`) or send the invitation email."""
    return Step.REQUEST_SEED if needs_seed else SEND_INVITATION_EMAIL


def step_on_retry(resumed: str, needs_seed: bool) -> str:
    """Return the step a retried request runs again, given the state it resumed in."""
    if resumed == State.APPROVED:
        return step_after_approval()
    if resumed == State.ACCOUNT_CREATED:
        return step_after_account(needs_seed)
    if resumed == State.SEED_REQUESTED:
        # the device is booked; what did not happen is the invitation email
        return SEND_INVITATION_EMAIL
    raise InvalidTransition(f"nothing to retry from {resumed}")
