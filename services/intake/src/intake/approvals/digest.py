"""The approvers' digest: now and then, one email to each approver about the requests waiting for them.

A digest covers the time since the previous one: the requests submitted in it, and the requests
whose reminder moment (shortly before they expire) fell in it, so each request is announced once
and reminded once whatever the interval. No email goes out when nothing is new or expiring. The
run is recorded with the email commands in one transaction (the outbox), and a unique "covered
from" lets only one process send the digest for a stretch of time.

The time is a parameter: the service passes the clock, tests pass the moment they want.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import peewee

from invite_common.messages import Template, new_message
from invite_common.outbox import Outbox

from intake import lifecycle
from intake.approvals import decision_context, delegations, levels, queue
from intake.db import database
from intake.auth.identity import Caller
from intake.auth.roles import DECIDING, may_hold
from intake.models import DigestRun, InviteRequest, RoleGrant
from intake.invites.words import METHOD_LABELS

log = logging.getLogger(__name__)

PRODUCER = "intake"
TEMPLATE = Template.APPROVER_DIGEST
# the most lines in each part of one email (a batch is one line, a request another); the rest are
# counted, and the email links to the whole queue
LISTED = 20
# the most requests of one part read to group them: enough for LISTED lines of any mix
READ_AT_MOST = 5000
# remind at least this long before expiry, and never less than two digests ahead
REMIND_AT_LEAST = dt.timedelta(days=1)


@dataclass(frozen=True)
class DigestSettings:
    """How often digests go out, when requests expire, and where the queue is."""

    interval: dt.timedelta
    expiry_days: int
    queue_url: str
    # who can approve (auth/roles.may_hold): a grant to anyone else hears of no request
    org_domains: tuple[str, ...] = ("gov.sg",)

    @property
    def remind_before(self) -> dt.timedelta:
        return max(REMIND_AT_LEAST, 2 * self.interval)


def _item(invite: InviteRequest, settings: DigestSettings) -> dict:
    return {
        "invitee_email": invite.email,
        "requester": invite.requester,
        "method": METHOD_LABELS.get(invite.method, invite.method),
        "expires_at": lifecycle.expires_at(invite, settings.expiry_days).isoformat(),
        "url": f"{settings.queue_url}/{quote(invite.id, safe='')}",
    }


class CloserLook:
    """How many requests of a batch an approver's request page would warn about, counted once a run."""

    def __init__(self, settings: DigestSettings, now: dt.datetime):
        self.settings, self.now, self.counted = settings, now, {}

    def needing(self, invites: list[InviteRequest]) -> int:
        total = 0
        for invite in invites:
            if invite.id not in self.counted:
                earlier = decision_context.earlier_requests(invite)
                expires = lifecycle.expires_at(invite, self.settings.expiry_days)
                self.counted[invite.id] = bool(decision_context.warnings_for(
                    invite, earlier, self.settings.org_domains, expires, self.now))
            total += self.counted[invite.id]
        return total


def _groups(invites: list[InviteRequest], settings: DigestSettings, closer: CloserLook) -> list[dict]:
    """The requests grouped for the email, in the order they were submitted.

    A batch is one line (its size, its requester, how many need a closer look, a link to it in the
    queue); other requests are grouped by requester, a line each. At most LISTED lines in all."""
    batches: dict[str, list[InviteRequest]] = {}
    singles: dict[str, list[InviteRequest]] = {}
    for invite in invites:
        if invite.batch_id:
            batches.setdefault(invite.batch_id, []).append(invite)
        else:
            singles.setdefault(invite.requester, []).append(invite)
    groups, lines = [], 0
    for batch_id, members in batches.items():
        if lines >= LISTED:
            break
        groups.append({"requester": members[0].requester, "count": len(members), "items": [],
                       "batch_url": f"{settings.queue_url}?{urlencode({'batch': batch_id})}",
                       "closer_look": closer.needing(members)})
        lines += 1
    for requester, members in singles.items():
        shown = members[:max(0, LISTED - lines)]
        if shown:
            groups.append({"requester": requester, "count": len(members), "batch_url": None, "closer_look": 0,
                           "items": [_item(i, settings) for i in shown]})
            lines += len(shown)
    return groups


def _named(groups: list[dict]) -> int:
    """How many requests the groups name: a batch's all, a requester's those listed."""
    return sum(g["count"] if g["batch_url"] else len(g["items"]) for g in groups)


def _approvers(org_domains: tuple[str, ...], now: dt.datetime) -> dict[str, frozenset[str]]:
    """Everyone who decides requests, with their own deciding roles: those the role table gives a deciding role
    (any level's, or a fallback's), and the stand-ins whose period runs now (holding none, perhaps: their queue
    is the approver's they stand in for)."""
    found: dict[str, set[str]] = {}
    for g in RoleGrant.select(RoleGrant.email, RoleGrant.role).where(RoleGrant.role.in_(DECIDING)).order_by(RoleGrant.email):
        if may_hold(g.role, g.email, org_domains):
            found.setdefault(g.email, set()).add(g.role)
    for stand_in in delegations.stand_ins_running(now):
        found.setdefault(stand_in, set())
    return {email: frozenset(held) for email, held in sorted(found.items())}


def send_digest(outbox: Outbox, settings: DigestSettings, *, now: dt.datetime) -> DigestRun | None:
    """Send the digest if one is due at `now`; return the run recorded, or None when none was due.

    A run with nothing new and nothing expiring is recorded (so the next one starts from here)
    but sends no email."""
    expiry = dt.timedelta(days=settings.expiry_days)
    try:
        with database.atomic():
            last = DigestRun.select().order_by(DigestRun.covered_until.desc()).first()
            since = last.covered_until if last else now - settings.interval
            if now - since < settings.interval:
                return None
            new = lifecycle.awaiting_decision_query().where((InviteRequest.created_at > since) & (InviteRequest.created_at <= now))
            # a request's reminder moment is (submitted + expiry - remind_before); take those that fell since the last digest
            shift = expiry - settings.remind_before
            expiring = lifecycle.awaiting_decision_query().where(
                (InviteRequest.created_at > since - shift) & (InviteRequest.created_at <= now - shift)
            )
            run = DigestRun.create(covered_from=since, covered_until=now, new_count=new.count(), expiring_count=expiring.count())
            if run.new_count or run.expiring_count:
                run.emails = _email_each_approver(outbox, settings, run, new, expiring, now)
                run.save()
    except peewee.IntegrityError:
        # another process recorded the digest for this stretch of time first
        return None
    outbox.notify()
    log.info("approvers' digest", extra={"new": run.new_count, "expiring": run.expiring_count, "emails": run.emails})
    return run


def _email_each_approver(outbox: Outbox, settings: DigestSettings, run: DigestRun, new, expiring,
                         now: dt.datetime) -> int:
    digest_id = f"digest-{uuid.uuid4().hex}"
    closer = CloserLook(settings, now)
    sent = 0
    order = (InviteRequest.created_at, InviteRequest.id)
    for email, held in _approvers(settings.org_domains, now).items():
        # each approver hears only of requests they may decide: at their levels (or of those they stand in
        # for), not their own, not invitations of them
        approver = Caller(email=email, roles=held)
        mine = levels.queue_condition(email, held, now)
        mine_new = new.where(mine)
        mine_expiring = expiring.where(mine)
        new_count, expiring_count = mine_new.count(), mine_expiring.count()
        if not (new_count or expiring_count):
            continue
        new_groups = _groups(list(mine_new.order_by(*order).limit(READ_AT_MOST)), settings, closer)
        expiring_groups = _groups(list(mine_expiring.order_by(*order).limit(READ_AT_MOST)), settings, closer)
        context = {
            "request_id": digest_id,
            "new_groups": new_groups,
            "new_count": new_count,
            "new_more": max(0, new_count - _named(new_groups)),
            "expiring_groups": expiring_groups,
            "expiring_count": expiring_count,
            "expiring_more": max(0, expiring_count - _named(expiring_groups)),
            "waiting_count": queue.decidable(approver, now).count(),
            "queue_url": settings.queue_url,
        }
        payload = {
            "request_id": digest_id,
            "template": TEMPLATE,
            "to": email,
            # one email per approver per digest, however often the command is delivered
            "send_key": hashlib.sha256(email.encode()).hexdigest()[:40],
            "context": context,
        }
        outbox.add(new_message("notifier.send_email", payload, correlation_id=digest_id, producer=PRODUCER))
        sent += 1
    return sent
