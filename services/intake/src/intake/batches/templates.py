"""The batch templates: a CSV with only the headings, and a workbook with the headings and a sheet of guidance."""
from __future__ import annotations

import io

from intake.batches.columns import COLUMNS, FIELDS, REQUIRED_COLUMNS
from intake.batches.parsing import MAX_ROWS

GUIDANCE_SHEET = "How to fill this in"

# (what to enter, an example); no example rows go in the data sheet, where they would be submitted
_GUIDANCE = {
    "email": ("The invitee's email address; one request per address.", "jane.tan@tech.gov.sg"),
    "user_type": ("public_officer (an organisation email) or vendor.", "vendor"),
    "username": ("Vendors only: the TechPass username to create, starting with v-. Leave empty for public officers.", "v-jane.tan"),
    "first_name": ("The invitee's first name.", "Jane"),
    "last_name": ("The invitee's last name.", "Tan"),
    "contact_number": ("A Singapore number (8 digits, starting with 3, 6, 8 or 9) or an international number starting with + and the country code.", "9123 4567"),
    "organisation": ("The invitee's organisation or company.", "GovTech"),
    "department": ("Optional: the invitee's department.", "Platform team"),
    "seed_onboarding": ("Does the invitee's device need SEED onboarding? yes or no.", "no"),
    "offshore": ("Vendors only: is the vendor working offshore? yes or no (offshore vendors always get SEED).", "no"),
    "reason": ("Why the invitee needs a TechPass account.", "Joining the platform team"),
}
_NOTES = (
    "Fill in the first sheet: one request per row, below the headings. Do not change the headings.",
    "Every row asks for a TechPass account to be created; the invitee is emailed once it is approved.",
    f"At most {MAX_ROWS:,} rows per file. Empty rows are skipped.",
    "After uploading you can review every row, fix problems and remove rows before submitting.",
)


def template_csv() -> bytes:
    """The CSV template: the heading row only, with a BOM so Excel opens it as UTF-8."""
    return ("\ufeff" + ",".join(FIELDS) + "\r\n").encode("utf-8")


def template_xlsx() -> bytes:
    """The Excel template: headings with drop-downs on the first sheet, guidance on the second."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Requests"
    sheet.append(list(FIELDS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    last = MAX_ROWS + 1
    for index, (name, _) in enumerate(COLUMNS):
        letter = sheet.cell(row=1, column=index + 1).column_letter
        sheet.column_dimensions[letter].width = 40 if name == "reason" else 22
        # text format: Excel keeps "+65 ..." and leading zeros, and never turns a typed "=" into a formula
        sheet.column_dimensions[letter].number_format = "@"
    for name, choices in (("user_type", "public_officer,vendor"), ("seed_onboarding", "yes,no"), ("offshore", "yes,no")):
        letter = sheet.cell(row=1, column=FIELDS.index(name) + 1).column_letter
        rule = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
        rule.add(f"{letter}2:{letter}{last}")
        sheet.add_data_validation(rule)

    guide = workbook.create_sheet(GUIDANCE_SHEET)
    for note in _NOTES:
        guide.append([note])
    guide.append([])
    guide.append(["Column", "Required", "What to enter", "Example"])
    for cell in guide[guide.max_row]:
        cell.font = Font(bold=True)
    for name, _label in COLUMNS:
        required = "yes" if name in REQUIRED_COLUMNS else ("vendors" if name == "username" else "no")
        guide.append([_text(name), required, *map(_text, _GUIDANCE[name])])
    for letter, width in (("A", 18), ("B", 10), ("C", 70), ("D", 26)):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=len(_NOTES) + 3):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _text(value: str) -> str:
    # openpyxl stores a string starting with "=" as a formula; nothing written here may become one
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
