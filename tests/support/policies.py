"""The README's example approval policy ("Levels of approval"), as TOML text in pieces.

One policy is what the unit tests, the contract test, the end-to-end system, the browser tests and the
bench all run under: written out once here, a change to the README's example (a level's title, a rule's
name or condition) is made in one place, and no copy quietly drifts from the others. A module that needs
more (another rule, fewer rules) builds its policy from these pieces plus only what it adds, in order:
the first matching rule wins, so where a piece stands in the text can matter.

Every piece begins with a blank line and ends with a newline, so pieces join by `+`; `LEVELS` comes first
(it holds the top-level `default_levels`, which must precede every table).
"""
from __future__ import annotations

# Every request passes its agency's approvers; the security level is for the requests a rule routes to it.
LEVELS = """
default_levels = ["agency"]

[[levels]]
name = "agency"
title = "Agency approval"
role = "approver"
same_agency = true
fallback = "admin"

[[levels]]
name = "security"
title = "Security approval"
role = "security_approver"
fallback = "approver"
"""

# An offshore vendor passes the security approvers too.
OFFSHORE_VENDORS = """
[[rules]]
name = "Offshore vendors"
user_type = ["vendor"]
offshore = true
levels = ["agency", "security"]
"""

# So does any vendor needing SEED.
VENDORS_NEEDING_SEED = """
[[rules]]
name = "Vendors needing SEED"
user_type = ["vendor"]
seed_onboarding = true
levels = ["agency", "security"]
"""

# The README's example: its levels and its routing rules (not its auto-approval rule).
EXAMPLE = LEVELS + OFFSHORE_VENDORS + VENDORS_NEEDING_SEED
