"""Intake reads the approval policy approval routes by, and refuses to start on one it cannot apply."""
from __future__ import annotations

import pytest

from intake import settings as intake_settings
from intake.app import create_app

TWO_LEVELS = """
default_levels = ["agency"]

[[levels]]
name = "agency"
role = "approver"
fallback = "admin"

[[levels]]
name = "security"
role = "security_approver"
fallback = "approver"
"""


def started(outbox, policy_file):
    return create_app(intake_settings.load({"APPROVAL_POLICY": str(policy_file)}), outbox)


def test_intake_reads_the_levels_of_the_policy_file(outbox, tmp_path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(TWO_LEVELS)
    policy = started(outbox, policy_file).config["APPROVAL_POLICY"]
    assert list(policy.levels) == ["agency", "security"] and policy.roles() == {"approver", "security_approver", "admin"}


@pytest.mark.parametrize("change,problem", [
    (("role = \"security_approver\"", "role = \"auditor\""), "names the role 'auditor', which is not a role"),
    (("role = \"security_approver\"\nfallback = \"approver\"", "role = \"security_approver\""), "names no fallback"),
    (("role = \"approver\"\nfallback = \"admin\"", "fallback = \"admin\""), "names no role"),
])
def test_intake_refuses_to_start_with_one_line_on_a_policy_it_cannot_apply(outbox, tmp_path, change, problem):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(TWO_LEVELS.replace(*change))
    with pytest.raises(SystemExit) as refused:
        started(outbox, policy_file)
    message = str(refused.value)
    assert message.startswith("APPROVAL_POLICY: ") and problem in message and "\n" not in message
