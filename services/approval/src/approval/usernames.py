"""TechPass username rules: which names are valid, and the name a public officer is given."""
from __future__ import annotations

import itertools
import re
import unicodedata
from typing import Iterator

from invite_common.messages import UserType

USERNAME_MIN, USERNAME_MAX = 3, 64
# TechPass rules: starts and ends with a letter or digit; letters, digits, `_`, space, `-`, `.`
# in between; never two dots in a row (checked apart, a regex lookahead reads worse).
_USERNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_ .-]*[A-Za-z0-9])?")


def is_valid_username(username: str) -> bool:
    """Say whether `username` follows the TechPass username rules."""
    return (
        USERNAME_MIN <= len(username) <= USERNAME_MAX
        and _USERNAME.fullmatch(username) is not None
        and ".." not in username
    )


def _sanitise(text: str) -> str:
    # Fold accents to ASCII (José -> jose) rather than dropping the whole letter.
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\s+", ".", text)
    text = re.sub(r"[^a-z0-9_.-]", "", text)
    text = re.sub(r"\.{2,}", ".", text)
    return _trim(text[:USERNAME_MAX])


def _trim(text: str) -> str:
    return re.sub(r"^[^a-z0-9]+|[^a-z0-9]+$", "", text)


def _outside_vendor_names(name: str) -> str:
    # vendors' usernames are the ones starting "v-": an officer whose address does is given "v.…"
    prefix = UserType.VENDOR_USERNAME_PREFIX
    if name.startswith(prefix):
        return _sanitise(prefix[:-1] + "." + name[len(prefix):])
    return name


def derive_username(email: str, first_name: str = "", last_name: str = "") -> str:
    """Return the username a public officer gets: the email's local part, made to fit the rules.

    A local part too short to fit (`jo@…`) falls back to `first.last`, then to `user`. It never
    starts as vendors' usernames do (`v-`), so no vendor can have taken it first.
    """
    for source in (email.rpartition("@")[0], f"{first_name} {last_name}"):
        base = _outside_vendor_names(_sanitise(source))
        if len(base) >= USERNAME_MIN:
            return base
    return "user"


def numbered(base: str) -> Iterator[str]:
    """Yield base, base2, base3, ... each cut to fit the length limit without ending in punctuation."""
    yield base
    for n in itertools.count(2):
        suffix = str(n)
        yield _trim(base[: USERNAME_MAX - len(suffix)]) + suffix
