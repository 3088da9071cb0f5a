"""The columns of a batch file, and how the headings people actually write map onto them."""
from __future__ import annotations

import unicodedata

# (field, human label) in template order; every row is a create_account request.
COLUMNS: list[tuple[str, str]] = [
    ("email", "Email address"),
    ("user_type", "User type"),
    ("username", "TechPass username"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("contact_number", "Contact number"),
    ("organisation", "Organisation"),
    ("department", "Department"),
    ("seed_onboarding", "SEED onboarding"),
    ("offshore", "Offshore vendor"),
    ("reason", "Reason"),
]
FIELDS = tuple(field for field, _ in COLUMNS)
LABELS = dict(COLUMNS)

# A file without one of these cannot describe a valid request; the others may be left out
# (no vendors → no username; department optional; offshore defaults to no).
REQUIRED_COLUMNS = (
    "email", "user_type", "first_name", "last_name", "contact_number", "organisation", "seed_onboarding", "reason",
)

_ALIASES = {
    "email": ("emailaddress", "mail", "emailid"),
    "user_type": ("type", "usertype", "accounttype", "typeofuser"),
    "username": ("techpassusername", "vendorusername", "userid"),
    "first_name": ("givenname", "forename", "firstname"),
    "last_name": ("surname", "familyname", "lastname"),
    "contact_number": (
        "mobile", "mobilenumber", "mobileno", "phone", "phonenumber", "phoneno", "contact", "contactno",
        "telephone", "tel", "handphone", "hp",
    ),
    "organisation": ("organization", "org", "company", "agency", "organisationname", "organizationname"),
    "department": ("dept", "division", "team", "unit"),
    "seed_onboarding": ("seed", "needsseed", "seedrequired", "seedonboardingrequired"),
    "offshore": ("offshorevendor", "isoffshore", "overseas"),
    "reason": ("justification", "purpose", "reasonforrequest"),
}


# No heading of ours is longer; a longer one names no field and is not worth normalising.
MAX_HEADING_LENGTH = 60


def _key(heading: str) -> str:
    """Reduce a heading to what matters: "First Name *" and "first_name" both become "firstname"."""
    text = unicodedata.normalize("NFKC", heading)
    return "".join(char for char in _without_brackets(text) if char.isalnum()).casefold()


def _without_brackets(text: str) -> str:
    """Drop each "(...)" part ("Department (optional)"); an unclosed "(" is kept as written.

    One scan, whatever the text: a pattern search here once backtracked over runs of "(".
    """
    kept, start = [], 0
    while (opening := text.find("(", start)) != -1:
        closing = text.find(")", opening)
        if closing == -1:
            break
        kept.append(text[start:opening])
        start = closing + 1
    kept.append(text[start:])
    return "".join(kept)


_BY_KEY = {_key(field): field for field in FIELDS}
_BY_KEY.update({_key(label): field for field, label in COLUMNS})
_BY_KEY.update({alias: field for field, aliases in _ALIASES.items() for alias in aliases})


def field_for(heading: str) -> str | None:
    """Return the field a heading names, or None when it names none of ours."""
    if not heading or len(heading) > MAX_HEADING_LENGTH:
        return None
    return _BY_KEY.get(_key(heading))


def column_letter(index: int) -> str:
    """Return the spreadsheet letter of a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters
