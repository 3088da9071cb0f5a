"""What runs each step: every step the workflow can choose has something that runs it, and a
step asking for a dependency nobody gives stops the service when it is declared, not at its
first message."""
from __future__ import annotations

import pytest

from invite_common.messages import State, Step
from invite_common.outbox import Outbox
from invite_common.topology import Topology

from approval import bootstrap, dispatch, workflow
from approval.adapters.directory import LocalDirectory
from approval.adapters.enrolment import LocalEnrolment
from approval.db import database


def dependencies() -> dispatch.Dependencies:
    return dispatch.Dependencies(outbox=Outbox(database, Topology()), directory=LocalDirectory(),
                                 enrolment=LocalEnrolment(14), activation_url="https://techpass.example/activate")


def test_every_automatic_step_of_the_contract_has_what_runs_it():
    assert set(bootstrap.AUTOMATIC_STEPS) == set(Step.ALL)


@pytest.mark.parametrize("state", [State.APPROVED, State.ACCOUNT_CREATED, State.SEED_REQUESTED])
@pytest.mark.parametrize("needs_seed", [False, True])
def test_every_step_the_workflow_chooses_is_run_by_approval_advance_or_is_the_invitation(state, needs_seed):
    step = workflow.step_on_retry(state, needs_seed)
    assert step == workflow.SEND_INVITATION_EMAIL or step in bootstrap.AUTOMATIC_STEPS
    # and a request in that state waits for it
    assert step == workflow.SEND_INVITATION_EMAIL or workflow.waits_for(state, step)


def test_a_step_is_given_the_dependencies_its_parameters_name():
    def step(message, moves, activation_url, request_expiry_days):
        return message, activation_url, request_expiry_days

    assert dispatch.Bound(step, dependencies(), "message").run(message="m", moves=None) == (
        "m", "https://techpass.example/activate", 14)


def test_a_step_asking_for_what_nothing_gives_stops_the_service_when_declared():
    def step(message, moves, mailer):
        """`mailer` is no dependency of approval's."""

    with pytest.raises(TypeError, match="'mailer'"):
        dispatch.on_message(step, dependencies())
