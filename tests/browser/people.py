"""Who is who in the browser tests' system (its ROLE_GRANTS)."""
from __future__ import annotations

APPROVER = "bob@tech.gov.sg"
# decides now and then while bob has the page open, as a colleague would
SECOND_APPROVER = "dana@tech.gov.sg"
AUDITOR = "carol@tech.gov.sg"
ADMIN = "ada@tech.gov.sg"
