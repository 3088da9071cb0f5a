"""The rules every invite field obeys, shared by the API, the portal pages and batch rows."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable

import idna
import phonenumbers
from marshmallow import ValidationError

from invite_common.messages import UserType
from invite_common.people import in_domains

from intake.validation.problems import declare

DEFAULT_ORG_EMAIL_DOMAINS = "gov.sg"

EMAIL_MAX_LENGTH = 254
USERNAME_MIN_LENGTH = 3
USERNAME_MAX_LENGTH = 64
NAME_MAX_LENGTH = 100
ORGANISATION_MAX_LENGTH = 150
REASON_MAX_LENGTH = 1000
PHONE_MAX_LENGTH = 30

# Categories a person never types on purpose: controls (incl. tab, CR, LF, NUL), format
# characters (bidi overrides and isolates, zero-width spaces, BOM), line and paragraph
# separators, lone surrogates (they cannot even be stored as UTF-8).
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Zero-width (non-)joiners are part of correct spelling in Tamil and other scripts, so
# free text keeps them; addresses, usernames and numbers never need them.
JOINERS = frozenset({"\u200c", "\u200d"})

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_ASCII_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_USERNAME_CHARACTERS = re.compile(r"[A-Za-z0-9_ .-]+")
_USERNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_ .-]*[A-Za-z0-9])?")
_PHONE = re.compile(r"\+?[0-9 ().-]+")


def _has_hidden_characters(
    text: str, *, allow_newlines: bool = False, allow_joiners: bool = False
) -> bool:
    """Tell whether text holds a control, format or line-separator character."""
    # isprintable() is a C-speed pass that is true for almost every real value.
    if text.isprintable():
        return False
    return any(
        unicodedata.category(char) in HIDDEN_CATEGORIES
        and not (allow_joiners and char in JOINERS)
        and not (allow_newlines and char == "\n")
        for char in text
    )


def _text(value: object, message: str) -> str:
    """Return value if it is a string, else refuse it with message."""
    if not isinstance(value, str):
        raise ValidationError(message)
    return value


def _typed_line(value: object, noun: str) -> str:
    """Return the one line typed for `noun`, trimmed; refuse it when it is not text or holds line breaks
    or hidden characters. Checked before trimming: a trailing CR/LF is a header-injection attempt, not a typo."""
    text = _text(value, f"Enter the {noun} as text.")
    if _has_hidden_characters(text):
        raise ValidationError(f"The {noun} must not contain line breaks or hidden characters.")
    return text.strip()


def normalise_email(value: object) -> str:
    """Return the address lower-cased with an ASCII (IDNA) domain, or refuse it."""
    text = _typed_line(value, "email address")
    if not text:
        raise ValidationError("Enter an email address.")
    if "<" in text or ">" in text:
        raise ValidationError("Enter only the email address, without a name or <brackets>.")
    if '"' in text:
        raise ValidationError("The email address must not contain quotation marks.")
    if "=?" in text:
        raise ValidationError("The email address must not contain encoded text such as '=?'.")
    if any(char.isspace() for char in text):
        raise ValidationError("The email address must not contain spaces.")
    if len(text) > EMAIL_MAX_LENGTH:
        raise ValidationError(f"The email address must be {EMAIL_MAX_LENGTH} characters or fewer.")
    if text.count("@") != 1:
        raise ValidationError("The email address must contain exactly one @ sign.")
    local, domain = text.split("@")
    address = f"{_normalise_local_part(local)}@{_normalise_domain(domain)}"
    if len(address) > EMAIL_MAX_LENGTH:
        raise ValidationError(f"The email address must be {EMAIL_MAX_LENGTH} characters or fewer.")
    return address


def _normalise_local_part(local: str) -> str:
    """Return the part before the @ lower-cased, or refuse it."""
    if not local:
        raise ValidationError("Enter the part of the email address before the @.")
    if len(local) > 64:
        raise ValidationError("The part before the @ must be 64 characters or fewer.")
    if ".." in local or local.startswith(".") or local.endswith("."):
        raise ValidationError(
            "The part before the @ must not start or end with a dot or have two dots in a row."
        )
    if not _LOCAL_PART.fullmatch(local):
        raise ValidationError(
            "The part before the @ may use only English letters, digits and symbols such as . _ - +"
        )
    return local.lower()


def _normalise_domain(domain: str) -> str:
    """Return the domain in lower-case ASCII (IDNA) form, or refuse it."""
    if not domain:
        raise ValidationError("Enter the part of the email address after the @, such as tech.gov.sg.")
    if domain.endswith("."):
        raise ValidationError("The email address must not end with a dot.")
    labels = domain.split(".")
    if any(not label for label in labels):
        raise ValidationError("The part after the @ must not start with a dot or have two dots in a row.")
    ascii_labels = [_ascii_label(label) for label in labels]
    if len(ascii_labels) < 2:
        raise ValidationError("The part after the @ must be a full domain, such as tech.gov.sg.")
    if ascii_labels[-1].isdigit():
        raise ValidationError("The part after the @ must be a domain name, not a number.")
    ascii_domain = ".".join(ascii_labels)
    if len(ascii_domain) > 253:
        raise ValidationError("The part after the @ is too long.")
    return ascii_domain


def _ascii_label(label: str) -> str:
    """Return one domain label in lower-case ASCII, or refuse it."""
    not_a_domain = ValidationError("The part after the @ is not a valid domain name.")
    if label.isascii():
        label = label.lower()
        if not _ASCII_LABEL.fullmatch(label):
            raise not_a_domain
        if label.startswith("xn--"):
            # An already-encoded label must decode to a permitted name and be its canonical form.
            try:
                if idna.encode(idna.decode(label)).decode("ascii") != label:
                    raise not_a_domain
            except idna.IDNAError:
                raise not_a_domain from None
        return label
    try:
        mapped = idna.uts46_remap(label, std3_rules=True, transitional=False)
    except idna.IDNAError:
        raise not_a_domain from None
    # UTS 46 turns look-alike dots (fullwidth, ideographic) into '.', which would let
    # "gov．sg" pass as "gov.sg"; what looks like a dot but is not one is refused.
    if "." in mapped:
        raise ValidationError(
            "The part after the @ contains a character that looks like a dot but is not one."
        )
    try:
        return idna.encode(mapped).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise not_a_domain from None


def parse_org_domains(raw: str) -> tuple[str, ...]:
    """Parse ORG_EMAIL_DOMAINS ("gov.sg,other.sg") into normalised domains; ValueError if unusable."""
    domains: list[str] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            domain = _normalise_domain(part)
        except ValidationError as error:
            raise ValueError(f"ORG_EMAIL_DOMAINS: unusable domain {part!r}: {error.messages[0]}") from None
        if domain not in domains:
            domains.append(domain)
    if not domains:
        raise ValueError("ORG_EMAIL_DOMAINS must name at least one domain.")
    return tuple(domains)


def in_org_domains(domain: str, org_domains: Iterable[str]) -> bool:
    """Tell whether an already normalised domain is an organisation domain or one of its subdomains."""
    # the rule every service applies (at a label boundary: evilgov.sg is not gov.sg)
    return in_domains(domain, org_domains)


def normalise_username(value: object) -> str:
    """Return a TechPass username trimmed (case kept), or refuse it."""
    text = _typed_line(value, "username")
    if not USERNAME_MIN_LENGTH <= len(text) <= USERNAME_MAX_LENGTH:
        raise ValidationError(
            f"The username must be {USERNAME_MIN_LENGTH} to {USERNAME_MAX_LENGTH} characters long."
        )
    if not _USERNAME_CHARACTERS.fullmatch(text):
        raise ValidationError(
            "The username may use only English letters, digits, spaces and the characters _ - ."
        )
    if not _USERNAME.fullmatch(text):
        raise ValidationError("The username must start and end with a letter or a digit.")
    if ".." in text:
        raise ValidationError("The username must not have two dots in a row.")
    return text


def vendor_username_problem(username: str) -> str | None:
    """Say why a valid TechPass username cannot be a vendor's, or None when it can.

    A vendor's starts with `v-`: a public officer's username is derived from their email when
    their account is made, never starts so, and no vendor can then have taken it before them."""
    prefix = UserType.VENDOR_USERNAME_PREFIX
    if username.lower().startswith(prefix):
        return None
    example = prefix + username if len(prefix + username) <= USERNAME_MAX_LENGTH else prefix + "jane.tan"
    return (f"A vendor's TechPass username starts with {prefix}, so it can never be the one a public officer "
            f"is given from their email: for example {example}.")


def username_key(value: object) -> str:
    """Return the lower-cased username that uniqueness checks compare; refuses as normalise_username does."""
    return normalise_username(value).lower()


def normalise_phone(value: object) -> str:
    """Return a contact number in E.164 form (+6591234567); Singapore is assumed without a leading +.

    A number refused says what is wrong with it (digits counted, first digit, country code, a number
    not in use), so the same words reach the form, a batch row and the API."""
    text = _typed_line(value, "contact number")
    if not text:
        raise ValidationError("Enter a contact number.")
    # Letters (vanity numbers, "ext.") and long input are refused before phonenumbers sees them.
    if len(text) > PHONE_MAX_LENGTH or not _PHONE.fullmatch(text):
        raise ValidationError(
            "The contact number may contain only digits, spaces, hyphens, brackets and a leading +."
        )
    international = text.startswith("+")
    try:
        number = phonenumbers.parse(text, None if international else "SG")
    except phonenumbers.NumberParseException:
        raise ValidationError(phone_problem(text, None)) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(phone_problem(text, number))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


SINGAPORE_CODE = 65
SINGAPORE_DIGITS = 8
SINGAPORE_FIRST_DIGITS = ("3", "6", "8", "9")
PHONE_PROBLEMS = {
    "digits": declare("phone.digits", "A Singapore number has 8 digits; you entered {count}."),
    "overseas": declare("phone.overseas", "A Singapore number has 8 digits; you entered {count}. "
                                          "A number outside Singapore starts with + and its country code."),
    "first_digit": declare("phone.first_digit", "A Singapore number starts with 3, 6, 8 or 9; this one starts with {digit}."),
    "not_in_use": declare("phone.not_in_use", "{number} is not a Singapore number in use: check the digits."),
    "country_code": declare("phone.country_code", "The digits after the + do not begin with a country code: "
                                                  "give the country code first, such as +44 for the United Kingdom."),
    "length": declare("phone.length", "A +{code} number has {lengths} digits after the +{code}; you entered {count}."),
    "abroad_not_in_use": declare("phone.abroad_not_in_use", "This is not a +{code} number in use: check the digits."),
}


def phone_problem(text: str, number: phonenumbers.PhoneNumber | None) -> str:
    """Say what is wrong with a contact number phonenumbers refused (`number` is None when it could not
    even read one): the count of digits, the first digit, the country code, or a number not in use."""
    if number is None:
        # only a number starting with + fails to parse: its country code is unknown
        return PHONE_PROBLEMS["country_code"]
    # the digits after the country code (typed or, for "65 9123 4567", read from the start), leading zeros kept
    digits = phonenumbers.national_significant_number(number)
    if number.country_code == SINGAPORE_CODE:
        if len(digits) != SINGAPORE_DIGITS:
            overseas = len(digits) > SINGAPORE_DIGITS and not text.startswith("+")
            return PHONE_PROBLEMS["overseas" if overseas else "digits"].format(count=len(digits))
        if digits[0] not in SINGAPORE_FIRST_DIGITS:
            return PHONE_PROBLEMS["first_digit"].format(digit=digits[0])
        return PHONE_PROBLEMS["not_in_use"].format(number=f"{digits[:4]} {digits[4:]}")
    lengths = _possible_lengths(number.country_code)
    if lengths and len(digits) not in lengths:
        return PHONE_PROBLEMS["length"].format(code=number.country_code, lengths=_either(lengths), count=len(digits))
    return PHONE_PROBLEMS["abroad_not_in_use"].format(code=number.country_code)


def _possible_lengths(country_code: int) -> tuple[int, ...]:
    """How many digits a full number of the country code may have after it (its local-only forms aside)."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = (phonenumbers.PhoneMetadata.metadata_for_nongeo_region(country_code) if region == "001"
                else phonenumbers.PhoneMetadata.metadata_for_region(region))
    return tuple(sorted(set(metadata.general_desc.possible_length))) if metadata else ()


def _either(lengths: tuple[int, ...]) -> str:
    """Numbers of digits in words: "8", "9 or 10", "7, 9 or 10"."""
    words = [str(n) for n in lengths]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def clean_text(
    value: object,
    *,
    field_label: str,
    max_length: int,
    required: bool = True,
    allow_newlines: bool = False,
) -> str | None:
    """Return free text trimmed, or None when it is blank and not required; refuse hidden characters.

    Control characters (tab, NUL, CR, LF, ...), bidi overrides and isolates, zero-width
    spaces and line/paragraph separators are refused. With allow_newlines (reasons and
    comments typed in a text box), CRLF and CR become LF and LF is kept; every other
    control character is still refused. Length is counted after trimming.
    """
    text = _text(value, f"{field_label} must be text.")
    if allow_newlines:
        # Browsers send text-box line breaks as CRLF; one form is stored.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _has_hidden_characters(text, allow_newlines=allow_newlines, allow_joiners=True):
        if allow_newlines:
            raise ValidationError(f"{field_label} must not contain tabs or hidden characters.")
        raise ValidationError(f"{field_label} must not contain line breaks, tabs or hidden characters.")
    text = text.strip()
    if not text:
        if required:
            raise ValidationError(f"{field_label} is required.")
        return None
    if len(text) > max_length:
        raise ValidationError(f"{field_label} must be {max_length} characters or fewer.")
    return text


def check_moment(value: dt.datetime) -> dt.datetime:
    """Return an aware moment in UTC, or refuse one that UTC cannot hold (year 1 at +14:00, say)."""
    try:
        return value.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):
        raise ValidationError("Give a date and time between the years 1 and 9999 in UTC.") from None
