"""Invitations submitted and approved through the public API, one after another, until stopped.

Each submission comes from the next of several requesters and each decision from the next of the
approvers (every person's rate limits hold, as in production), with their bearer tokens. A request
counts as accepted only when intake answered 201; its approval is tried until intake takes it
(202), through any restart. What was accepted is what must end up emailed, once.
"""
from __future__ import annotations

import itertools
import threading
import time
import uuid

import requests


class Traffic(threading.Thread):
    """Requests flowing through `base` (the portal's public address) while a test does other things."""

    def __init__(self, base: str, tokens: dict[str, str], requesters: list[str], approvers: list[str],
                 verify: str | bool = True, pause: float = 0.2) -> None:
        super().__init__(name="traffic", daemon=True)
        self.base, self.tokens, self.verify, self.pause = base, tokens, verify, pause
        self._requesters = itertools.cycle(requesters)
        self._approvers = itertools.cycle(approvers)
        self.accepted: dict[str, str] = {}  # request id -> invitee
        self.approved: set[str] = set()
        self.refused: dict[int, int] = {}  # status -> count, for the report
        self.last_answer: dict[int, str] = {}  # status -> the last such answer's body
        self.done = threading.Event()
        self._pending: list[str] = []
        self._session = requests.Session()

    def call(self, method: str, path: str, person: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[person]}"}
        # verify given with each request: a REQUESTS_CA_BUNDLE in the environment would beat the session's
        return self._session.request(method, self.base + path, headers=headers, timeout=15, verify=self.verify, **kwargs)

    def run(self) -> None:
        while not self.done.is_set():
            self._submit()
            self._approve_pending()
            time.sleep(self.pause)

    def stop(self) -> None:
        """Stop submitting; approve what was accepted and not yet approved (intake must be up)."""
        self.done.set()
        self.join(30)
        deadline = time.monotonic() + 60
        while self._pending and time.monotonic() < deadline:
            self._approve_pending()
            time.sleep(0.2)
        assert not self._pending, f"{len(self._pending)} accepted requests could not be approved"

    def _submit(self) -> None:
        email = f"staff.{uuid.uuid4().hex[:10]}@tech.gov.sg"
        body = {"method": "email_invitation", "email": email, "seed_onboarding": False, "reason": "Joins the team"}
        try:
            answer = self.call("POST", "/api/v1/invites", next(self._requesters), json=body)
        except requests.RequestException:
            self._count(0)
            return
        if answer.status_code != 201:
            self._count(answer.status_code, answer.text)
            return
        invite_id = answer.json()["id"]
        self.accepted[invite_id] = email
        self._pending.append(invite_id)

    def _approve_pending(self) -> None:
        for invite_id in list(self._pending):
            try:
                answer = self.call("POST", f"/api/v1/invites/{invite_id}/approve", next(self._approvers),
                                   json={"comment": "Approved"})
            except requests.RequestException:
                self._count(0)
                return
            if answer.status_code != 202:
                self._count(answer.status_code, answer.text)
                return
            self.approved.add(invite_id)
            self._pending.remove(invite_id)

    def _count(self, status: int, body: str = "") -> None:
        self.refused[status] = self.refused.get(status, 0) + 1
        self.last_answer[status] = body[:300]
