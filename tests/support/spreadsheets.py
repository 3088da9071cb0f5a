"""Batch files as a requester makes them (CSV from a spreadsheet, a workbook's first sheet), with one
officer's and one vendor's row, and the upload of one to the API."""
from __future__ import annotations

import csv
import io

HEADINGS = [
    "email", "user_type", "username", "first_name", "last_name", "contact_number",
    "organisation", "department", "seed_onboarding", "offshore", "reason",
]
OFFICER_ROW = {
    "email": "jane.tan@tech.gov.sg", "user_type": "public_officer", "first_name": "Jane", "last_name": "Tan",
    "contact_number": "9123 4567", "organisation": "GovTech", "seed_onboarding": "no", "reason": "Joining the team",
}
VENDOR_ROW = {
    "email": "vic@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim", "first_name": "Vic",
    "last_name": "Lim", "contact_number": "+65 9876 5432", "organisation": "Example Pte Ltd",
    "seed_onboarding": "yes", "offshore": "no", "reason": "Contractor",
}


def csv_bytes(rows, headings=HEADINGS, *, delimiter=",", encoding="utf-8", line_end="\r\n"):
    """Write rows (dicts by heading) as a CSV file the way a spreadsheet would."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(headings)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headings])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, headings=HEADINGS):
    """Write rows (lists of cell values, or dicts by heading) as the first sheet of a workbook."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headings)
    for row in rows:
        sheet.append([row.get(h) for h in headings] if isinstance(row, dict) else row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(user, data, filename="requests.csv"):
    """POST a file to /batches as a multipart upload."""
    return user("POST", "/api/v1/batches", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")
