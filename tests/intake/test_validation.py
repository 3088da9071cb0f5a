"""Unit tests of intake's field rules: emails, org domains, usernames, phone numbers and free text."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from intake.validation.problems import code_of
from intake.validation.rules import (
    clean_text,
    in_org_domains,
    normalise_email,
    normalise_phone,
    normalise_username,
    parse_org_domains,
    username_key,
)

ORG = ("gov.sg",)


def is_public_officer_email(email: str, org_domains) -> bool:
    """An address as typed is a public officer's: it normalises, and its domain is in the organisation's.

    The way every door takes an address: normalise_email first, then in_org_domains on its domain."""
    try:
        domain = normalise_email(email).rpartition("@")[2]
    except ValidationError:
        return False
    return in_org_domains(domain, org_domains)


def refusal(rule, value, **kwargs) -> str:
    """Return the single message a rule refuses value with."""
    with pytest.raises(ValidationError) as caught:
        rule(value, **kwargs)
    assert len(caught.value.messages) == 1
    return caught.value.messages[0]


# --- emails ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("jane_tan@tech.gov.sg", "jane_tan@tech.gov.sg"),
        ("  Jane.Tan@Tech.GOV.SG  ", "jane.tan@tech.gov.sg"),
        ("JANE+invites@GOV.SG", "jane+invites@gov.sg"),
        ("o'brien@vendor.com", "o'brien@vendor.com"),
        ("a-b.c_d@sub-domain.vendor.co.uk", "a-b.c_d@sub-domain.vendor.co.uk"),
        ("j@bücher.de", "j@xn--bcher-kva.de"),
        ("j@BÜCHER.de", "j@xn--bcher-kva.de"),
        ("j@xn--bcher-kva.de", "j@xn--bcher-kva.de"),
        ("j@XN--BCHER-KVA.DE", "j@xn--bcher-kva.de"),
        ("j@例え.jp", "j@xn--r8jz45g.jp"),
        ("j@123.example.com", "j@123.example.com"),
        ("j@ＴＥＣＨ.gov.sg", "j@tech.gov.sg"),  # fullwidth letters are the same letters under IDNA
    ],
)
def test_normalise_email_trims_lower_cases_and_returns_the_ascii_domain(given, expected):
    assert normalise_email(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "a@gov.sg\r\nBcc: x@evil.com",
        "a@gov.sg\nBcc: x@evil.com",
        "a@gov.sg\rBcc: x@evil.com",
        "a@gov.sg\r\n",
        "\r\na@gov.sg",
        "a@gov.sg\n",
        "a@gov.sg%0d%0aBcc:x@evil.com".replace("%0d%0a", "\r\n"),
        "a\x00@gov.sg",
        "a@gov.sg\x00",
        "a\t@gov.sg",
        "a@gov.sg\t",
        "a\x0b@gov.sg",
        "a\x0c@gov.sg",
        "a\x1b@gov.sg",
        "a\x7f@gov.sg",
        "a\x85@gov.sg",
        "a@gov.sg\u2028Bcc: x@evil.com",
        "a@gov.sg\u2029",
        "a\u200b@gov.sg",
        "a\u200d@gov.sg",
        "a@gov\u200c.sg",
        "a@gov\u200b.sg",
        "a@gov.sg\ufeff",
        "\u202egs.vog@a",
        "a@\u2066gov.sg\u2069",
        "a\u00ad@gov.sg",
    ],
)
def test_normalise_email_refuses_line_breaks_and_hidden_characters_anywhere(given):
    message = refusal(normalise_email, given)
    assert "line breaks or hidden characters" in message
    assert "evil" not in message


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("=?utf-8?q?jane?=@gov.sg", "encoded text"),
        ("jane@gov.sg=?utf-8?b?QmNjOiB4QGV2aWwuY29t?=", "encoded text"),
        ("=?iso-8859-1?Q?a=40evil.com?=@gov.sg", "encoded text"),
        ('"jane"@gov.sg', "quotation marks"),
        ('"jane doe"@gov.sg', "quotation marks"),
        ('"a@evil.com"@gov.sg', "quotation marks"),
        ("Jane <jane@gov.sg>", "without a name"),
        ("<jane@gov.sg>", "without a name"),
        ("Jane Tan<jane@gov.sg>", "without a name"),
        ("jane@gov.sg>", "without a name"),
        ("jane doe@gov.sg", "spaces"),
        ("jane@gov .sg", "spaces"),
        ("jane@gov.sg x@evil.com", "spaces"),
        ("jane\u00a0doe@gov.sg", "spaces"),
        ("jane\u3000@gov.sg", "spaces"),
        ("jane@gov.sg,x@evil.com", "exactly one @"),
        ("jane@x@gov.sg", "exactly one @"),
        ("jane@@gov.sg", "exactly one @"),
        ("jane.gov.sg", "exactly one @"),
        ("@gov.sg", "before the @"),
        ("jane@", "after the @"),
        ("jane@gov.sg.", "end with a dot"),
        ("jane@gov.sg..", "end with a dot"),
        ("jane@.gov.sg", "two dots in a row"),
        ("jane@gov..sg", "two dots in a row"),
        (".jane@gov.sg", "start or end with a dot"),
        ("jane.@gov.sg", "start or end with a dot"),
        ("ja..ne@gov.sg", "start or end with a dot"),
        ("jané@gov.sg", "English letters"),
        ("jane;x@gov.sg", "English letters"),
        ("jane(comment)@gov.sg", "English letters"),
        ("jane\\@gov.sg", "English letters"),
        ("jane@localhost", "full domain"),
        ("jane@sg", "full domain"),
        ("jane@[127.0.0.1]", "not a valid domain"),
        ("jane@127.0.0.1", "not a number"),
        ("jane@gov_sg.com", "not a valid domain"),
        ("jane@-gov.sg", "not a valid domain"),
        ("jane@gov-.sg", "not a valid domain"),
        ("jane@gov.sg;evil.com", "not a valid domain"),
        ("jane@xn--zz.sg", "not a valid domain"),
        ("jane@" + "a" * 64 + ".sg", "not a valid domain"),
        ("jane@gov．sg", "looks like a dot"),
        ("jane@gov。sg", "looks like a dot"),
        ("jane@gov｡sg", "looks like a dot"),
        ("jane@tech.gov．sg", "looks like a dot"),
        ("a" * 65 + "@gov.sg", "64 characters"),
        ("a" * 64 + "@" + "b" * 61 + "." + "b" * 61 + "." + "b" * 63 + ".sg", "254 characters"),
        ("a@" + "b" * 300 + ".sg", "254 characters"),
        ("a@" + ".".join(["ü" * 45] * 5) + ".de", "too long"),
        ("", "Enter an email address"),
        ("   ", "Enter an email address"),
    ],
)
def test_normalise_email_refuses_malformed_and_deceptive_addresses(given, fragment):
    assert fragment in refusal(normalise_email, given)


@pytest.mark.parametrize("given", [None, 123, ["a@gov.sg"], {"email": "a@gov.sg"}, b"a@gov.sg"])
def test_normalise_email_refuses_values_that_are_not_text(given):
    assert "as text" in refusal(normalise_email, given)


def test_normalise_email_accepts_the_longest_address_allowed():
    address = "a" * 64 + "@" + "b" * 61 + "." + "b" * 61 + "." + "b" * 62 + ".sg"
    assert len(address) == 254
    assert normalise_email(address) == address


def test_normalise_email_measures_length_after_idna_encoding():
    unicode_domain = ".".join(["ü" * 45] * 4) + ".de"
    address = "a" * 60 + "@" + unicode_domain
    assert len(address) < 254
    assert "254 characters" in refusal(normalise_email, address)


# --- public-officer addresses ---------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "x@gov.sg",
        "x@tech.gov.sg",
        "x@a.b.c.gov.sg",
        "X@TECH.GOV.SG",
        " x@tech.gov.sg ",
        "x@ＧＯＶ.ＳＧ",
    ],
)
def test_an_org_domain_or_its_subdomain_is_a_public_officer_address(email):
    assert is_public_officer_email(email, ORG)


@pytest.mark.parametrize(
    "email",
    [
        "x@evilgov.sg",
        "x@tech-gov.sg",
        "x@gov.sg.evil.com",
        "x@gov.sg-evil.com",
        "x@gov.sgx",
        "x@sg",
        "x@gov.ѕg",  # Cyrillic dze
        "x@gоv.sg",  # Cyrillic o
        "x@tech.gоv.sg",
        "x@gov．sg",  # fullwidth full stop
        "x@tech.gov。sg",  # ideographic full stop
        "x@gov｡sg",  # halfwidth ideographic full stop
        "x@gov.sg.",
        "x@xn--gov-sg.com",
        "gov.sg@vendor.com",
        "x@gov.sg@vendor.com",
        "x@gov.sg\r\nBcc: y@gov.sg",
        "x@vendor.com",
        "",
        "not an address",
    ],
)
def test_look_alikes_and_other_domains_are_not_public_officer_addresses(email):
    assert not is_public_officer_email(email, ORG)


def test_public_officer_address_matches_any_of_several_org_domains():
    domains = ("gov.sg", "agency.example.sg")
    assert is_public_officer_email("x@agency.example.sg", domains)
    assert is_public_officer_email("x@hq.agency.example.sg", domains)
    assert not is_public_officer_email("x@example.sg", domains)
    assert not is_public_officer_email("x@badagency.example.sg", domains)


@pytest.mark.parametrize(
    ("domain", "expected"),
    [("gov.sg", True), ("tech.gov.sg", True), ("evilgov.sg", False), ("gov.sg.evil.com", False), ("sg", False)],
)
def test_in_org_domains_compares_on_label_boundaries(domain, expected):
    assert in_org_domains(domain, ORG) is expected


def test_no_org_domains_means_no_public_officer_addresses():
    assert not is_public_officer_email("x@gov.sg", ())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("gov.sg", ("gov.sg",)),
        (" GOV.SG ", ("gov.sg",)),
        ("gov.sg,agency.example.sg", ("gov.sg", "agency.example.sg")),
        ("gov.sg, ,gov.sg,", ("gov.sg",)),
        ("bücher.de", ("xn--bcher-kva.de",)),
    ],
)
def test_parse_org_domains_reads_a_comma_separated_setting(raw, expected):
    assert parse_org_domains(raw) == expected


@pytest.mark.parametrize("raw", ["", " , ", "gov.sg.", "gov sg", "@gov.sg", "sg", "gov．sg", "gov..sg"])
def test_parse_org_domains_refuses_an_unusable_setting(raw):
    with pytest.raises(ValueError):
        parse_org_domains(raw)


# --- usernames -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("abc", "abc"),
        ("a_b c-d.e", "a_b c-d.e"),
        ("  Jane.Tan  ", "Jane.Tan"),
        ("ACME-Vendor_01", "ACME-Vendor_01"),
        ("a.b.c", "a.b.c"),
        ("1ab", "1ab"),
        ("a" * 64, "a" * 64),
    ],
)
def test_normalise_username_trims_and_keeps_case(given, expected):
    assert normalise_username(given) == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        (".abc", "start and end"),
        ("abc.", "start and end"),
        ("_abc", "start and end"),
        ("abc-", "start and end"),
        ("-abc", "start and end"),
        ("a..b", "two dots"),
        ("ab...cd", "two dots"),
        ("ab", "3 to 64"),
        ("a", "3 to 64"),
        ("", "3 to 64"),
        ("   ", "3 to 64"),
        (" ab ", "3 to 64"),
        ("a" * 65, "3 to 64"),
        ("jane@tan", "only English letters"),
        ("jane/tan", "only English letters"),
        ("jané", "only English letters"),
        ("jаne", "only English letters"),  # Cyrillic a
        ("jane\u00a0tan", "only English letters"),
        ("ｊａｎｅ", "only English letters"),
        ("jane\ttan", "hidden characters"),
        ("jane\r\ntan", "hidden characters"),
        ("jane\n", "hidden characters"),
        ("jane\x00", "hidden characters"),
        ("jane\u202etan", "hidden characters"),
        ("jane\u200btan", "hidden characters"),
        ("jane\u200dtan", "hidden characters"),
    ],
)
def test_normalise_username_refuses_what_techpass_does_not_allow(given, fragment):
    assert fragment in refusal(normalise_username, given)


@pytest.mark.parametrize("given", [None, 42, ["abc"]])
def test_normalise_username_refuses_values_that_are_not_text(given):
    assert "as text" in refusal(normalise_username, given)


def test_username_key_ignores_case_and_surrounding_spaces():
    assert username_key(" Jane.Tan ") == username_key("jane.tan") == "jane.tan"


def test_username_key_refuses_an_invalid_username():
    with pytest.raises(ValidationError):
        username_key("a..b")


# --- phone numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("9123 4567", "+6591234567"),
        ("91234567", "+6591234567"),
        ("8123-4567", "+6581234567"),
        ("6123-4567", "+6561234567"),
        (" 6123 4567 ", "+6561234567"),
        ("+65 9123 4567", "+6591234567"),
        ("+6591234567", "+6591234567"),
        ("+65 (9123) 4567", "+6591234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("+61 2 9374 4000", "+61293744000"),
        ("+60 3-2161 1111", "+60321611111"),
        ("9123.4567", "+6591234567"),
    ],
)
def test_normalise_phone_returns_e164(given, expected):
    assert normalise_phone(given) == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("1234 5678", "starts with 3, 6, 8 or 9; this one starts with 1"),
        ("9123 456", "8 digits; you entered 7"),
        ("9123 45678", "8 digits; you entered 9"),
        ("0000 0000", "starts with 3, 6, 8 or 9; this one starts with 0"),
        ("+65 1234 5678", "starts with 3, 6, 8 or 9; this one starts with 1"),
        ("+44 20 7946", "A +44 number has 7, 9 or 10 digits after the +44; you entered 6"),
        ("+999 1234 5678", "do not begin with a country code"),
        ("+", "only digits"),
        ("++65 9123 4567", "only digits"),
        ("65+ 9123 4567", "only digits"),
        ("9123 4567 ext 12", "only digits"),
        ("1-800-FLOWERS", "only digits"),
        ("9123/4567", "only digits"),
        ("tel:+6591234567", "only digits"),
        ("9" * 31, "only digits"),
        ("9123 4567\r\nBcc: x@evil.com", "hidden characters"),
        ("9123\t4567", "hidden characters"),
        ("\u202e76543219", "hidden characters"),
        ("", "Enter a contact number"),
        ("   ", "Enter a contact number"),
    ],
)
def test_normalise_phone_refuses_numbers_that_cannot_be_dialled(given, fragment):
    assert fragment in refusal(normalise_phone, given)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        # eight digits and a right first digit: what is wrong is the range, not the length
        ("99432920", "9943 2920 is not a Singapore number in use: check the digits."),
        ("65 9943 2920", "9943 2920 is not a Singapore number in use: check the digits."),
        ("9943 292", "A Singapore number has 8 digits; you entered 7."),
        ("2123 4567", "A Singapore number starts with 3, 6, 8 or 9; this one starts with 2."),
        ("44 20 7946 0958", "A Singapore number has 8 digits; you entered 12. "
                            "A number outside Singapore starts with + and its country code."),
        ("+1 650 253 000", "A +1 number has 10 digits after the +1; you entered 9."),
        ("+44 20 7946 0000 0000", "A +44 number has 7, 9 or 10 digits after the +44; you entered 14."),
    ],
)
def test_a_refused_number_is_told_exactly_what_is_wrong_with_it(given, message):
    assert refusal(normalise_phone, given) == message


def test_every_refusal_of_a_number_that_could_be_dialled_carries_a_phone_problem_code():
    with pytest.raises(ValidationError) as refused:
        normalise_phone("99432920")
    assert code_of(refused.value.messages[0]) == "phone.not_in_use"


@pytest.mark.parametrize("given", [None, 91234567, 6591234567.0])
def test_normalise_phone_refuses_values_that_are_not_text(given):
    assert "as text" in refusal(normalise_phone, given)


# --- free text -------------------------------------------------------------------------------


def name(value, **kwargs):
    return clean_text(value, field_label="First name", max_length=100, **kwargs)


def reason(value, **kwargs):
    return clean_text(value, field_label="Reason", max_length=1000, allow_newlines=True, **kwargs)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("  Jane  ", "Jane"),
        ("Tan  Ah   Kow", "Tan  Ah   Kow"),
        ("Nur 'Aisyah binte Abdullah", "Nur 'Aisyah binte Abdullah"),
        ("陈大文", "陈大文"),
        ("க்ஷ\u200dா", "க்ஷ\u200dா"),  # Tamil needs the zero-width joiner
        ("\u00a0Jane\u00a0", "Jane"),
        ("=SUM(A1)", "=SUM(A1)"),  # neutralised when exported, not refused here
        ("<b>Jane</b>", "<b>Jane</b>"),  # escaped when shown, not refused here
        ("a" * 100, "a" * 100),
        ("  " + "a" * 100 + "  ", "a" * 100),
    ],
)
def test_clean_text_trims_and_keeps_everything_else(given, expected):
    assert name(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "Jane\nTan",
        "Jane\r\nBcc: x@evil.com",
        "Jane\r",
        "Jane\tTan",
        "Jane\x00",
        "\x00",
        "Jane\x07",
        "Jane\x1b[31m",
        "Jane\x7f",
        "Jane\x85",
        "Jane\u2028Tan",
        "Jane\u2029Tan",
        "Jane\u200bTan",
        "Jane\ufeff",
        "Jane\u00ad",
        "Jane\ud800",
        *[f"Jane{chr(c)}Tan" for c in range(0x202A, 0x202F)],
        *[f"Jane{chr(c)}Tan" for c in range(0x2066, 0x206A)],
    ],
)
def test_clean_text_refuses_control_and_bidi_characters_in_single_line_text(given):
    assert refusal(name, given) == "First name must not contain line breaks, tabs or hidden characters."


def test_clean_text_refuses_hidden_characters_even_at_the_ends():
    with pytest.raises(ValidationError):
        name("Jane\n")


def test_clean_text_counts_length_after_trimming():
    assert refusal(name, "a" * 101) == "First name must be 100 characters or fewer."


@pytest.mark.parametrize("given", ["", "   ", "\u00a0"])
def test_clean_text_refuses_blank_required_text(given):
    assert refusal(name, given) == "First name is required."


@pytest.mark.parametrize("given", ["", "   "])
def test_clean_text_returns_none_for_blank_optional_text(given):
    assert clean_text(given, field_label="Department", max_length=150, required=False) is None


@pytest.mark.parametrize("given", [None, 5, True, ["Jane"]])
def test_clean_text_refuses_values_that_are_not_text(given):
    assert refusal(name, given) == "First name must be text."


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Joining the\nplatform team", "Joining the\nplatform team"),
        ("Line one\r\nLine two", "Line one\nLine two"),
        ("Line one\rLine two", "Line one\nLine two"),
        ("\n\nNeeds access\n\n", "Needs access"),
        ("a" * 1000, "a" * 1000),
    ],
)
def test_reason_keeps_line_breaks_as_lf(given, expected):
    assert reason(given) == expected


@pytest.mark.parametrize(
    "given",
    ["Needs\taccess", "Needs\x00access", "Needs\u2028access", "Needs\u202eaccess", "Needs\x0baccess", "Needs\x1b"],
)
def test_reason_still_refuses_tabs_and_hidden_characters(given):
    assert refusal(reason, given) == "Reason must not contain tabs or hidden characters."


def test_reason_longer_than_1000_characters_is_refused():
    assert refusal(reason, "a" * 1001) == "Reason must be 1000 characters or fewer."


def test_reason_length_counts_a_crlf_line_break_once():
    assert len(reason("a" * 499 + "\r\n" + "b" * 500)) == 1000
