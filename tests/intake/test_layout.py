"""Intake's layout holds what it promises a newcomer: few modules at the top, and each table's
hot-path statements in the one module that reads and writes it."""
from __future__ import annotations

from pathlib import Path

import intake

SOURCE = Path(intake.__file__).parent
# the modules that build cached statements (invite_common.statements), each for its own table
TABLE_MODULES = {"tables/invite_requests.py", "history/__init__.py", "auth/roles.py"}


def test_at_most_ten_modules_stand_at_intakes_top_level():
    top = sorted(p.name for p in SOURCE.glob("*.py"))
    assert len(top) <= 10, top


def test_only_the_tables_modules_build_their_statements():
    building = {str(p.relative_to(SOURCE)) for p in SOURCE.rglob("*.py") if "Statements(" in p.read_text()}
    assert building == TABLE_MODULES


def test_the_invites_service_reaches_its_tables_through_named_functions():
    service = (SOURCE / "invites" / "service.py").read_text()
    for way in (".select(", ".execute(", ".sql(", "get_or_none(", "Statements", "for_update("):
        assert way not in service, way
