"""Batch upload: download the template, upload a file, review and fix its rows, submit them all."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from intake.approvals import levels, previews
from intake.batches.store import open_drafts
from intake.portal.paging import page_number
from intake.batches import service as batches
from intake.errors import Conflict, InvalidInput, NotFound
from intake.invites import queries
from intake.auth.identity import current_caller
from intake.limits.rates import limited
from intake.models import DraftStatus, InviteRequest
from intake.portal import deciders, forms

bp = Blueprint("batch", __name__, url_prefix="/invite/batch")

PER_PAGE = 100
# the confirmation of a bulk removal names the rows, up to this many
SHOWN_ROW_NUMBERS = 30
# a refused submit's error summary links to this many rows; the rest are listed on the page below it
SHOWN_IN_SUMMARY = 25
TOO_LARGE = "The file is larger than 5 MB. Split it into smaller files and upload each one."
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _org_domains():
    return current_app.config["ORG_DOMAINS"]


def _draft(batch_id: str):
    return batches.get_draft(batch_id, current_caller())


def _back_to_row(draft, row: int) -> str:
    """The review page where the requester was, scrolled to the row just changed.

    A row that left the view (removed, or fixed while only rows needing attention are shown) gives
    way to the next one, so working down a long list never starts again from the top."""
    args = _view_args()
    found = batches.locate_row(draft, row, errors_only=args.get("attention") == "1")
    args.pop("page", None)
    if found is None:
        return url_for(".review", batch_id=draft.id, **args)
    target, position = found
    page = position // PER_PAGE + 1
    return url_for(".review", batch_id=draft.id, **args, **({"page": page} if page > 1 else {}), _anchor=f"row-{target}")


def _view_args() -> dict:
    """Where the review page was (page, attention filter), so edits and removals return there."""
    args = {}
    if request.values.get("attention") == "1":
        args["attention"] = "1"
    page = page_number(request.values.get("page", ""))
    if page > 1:
        args["page"] = str(page)
    return args


def _upload_page(errors: dict | None = None, status: int = 200):
    return render_template(
        "portal/batch/upload.html", errors=errors or {}, columns=batches.COLUMNS,
        drafts=open_drafts(current_caller().email),
    ), status


@bp.get("")
def upload():
    """Show how to download the template and upload a filled-in file."""
    return _upload_page()


@bp.post("")
@limited("upload")
def upload_file():
    """Read the uploaded file into a draft and open its review."""
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _upload_page({"file": ["Choose a CSV or Excel file to upload."]}, 422)
    try:
        draft = batches.create_draft(
            sent.stream.read(), sent.filename, current_caller(), _org_domains(),
            parse_seconds=current_app.extensions["settings"].upload_parse_seconds,
        )
    except batches.TooLarge:
        return _upload_page({"file": [TOO_LARGE]}, 413)
    except batches.UnsupportedFile as exc:
        return _upload_page({"file": [str(exc)]}, 415)
    except InvalidInput as exc:
        return _upload_page(forms.plain_errors(exc.errors), 422)
    return redirect(url_for(".review", batch_id=draft.id))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    # Raised while reading the body, before any view runs: answer on the upload page, beside the input.
    return _upload_page({"file": [TOO_LARGE]}, 413)


@bp.get("/template.csv")
def template_csv():
    """Download the CSV template."""
    return Response(batches.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="invite-requests-template.csv"'})


@bp.get("/template.xlsx")
def template_xlsx():
    """Download the Excel template."""
    return Response(batches.template_xlsx(), mimetype=_XLSX,
                    headers={"Content-Disposition": 'attachment; filename="invite-requests-template.xlsx"'})


@bp.get("/<batch_id>")
def review(batch_id):
    """Show the draft's summary and its rows a page at a time, each row's problems stated in it."""
    draft = _draft(batch_id)
    removed = batches.find_removal(draft, request.args.get("removed", ""))
    return _review_page(draft, attention=request.args.get("attention") == "1", removed=removed)


def _review_page(draft, *, attention: bool, removed=None, refused: list[str] | None = None, status: int = 200):
    """The review page; `refused` holds why a submit was refused, shown as an error summary linking to the rows."""
    summary = batches.summary(draft)
    total = summary["error_count"] if attention else summary["row_count"]
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page_number(request.args.get("page", "1"))), pages)
    rows = batches.rows(draft, errors_only=attention, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    links = _open_request_links([row["errors"] for row in rows])
    labels = dict(batches.COLUMNS)
    # the role table's holders read once for the page, whatever the number of rows
    holders, requester = levels.Holders.of_app(), current_caller().email
    for row, found in zip(rows, links):
        found_levels = levels.preview(previews.of_cells(row["fields"], requester), holders)
        row["route"], row["levels"] = deciders.route_words(found_levels), deciders.shown(found_levels)
        row["errors"], row["links"] = forms.row_errors(row["errors"]), found
        # each problem named with its column, so the row says what is wrong without its cell in view
        row["problems"] = [(field, labels.get(field, field), message)
                           for field, messages in row["errors"].items() for message in messages]
    return render_template(
        "portal/batch/review.html",
        summary=summary,
        officer_address_vendors=batches.vendors_at_officer_addresses(draft, _org_domains()),
        rows=rows,
        columns=batches.COLUMNS,
        attention=attention,
        page=page,
        pages=pages,
        first_row=(page - 1) * PER_PAGE + 1,
        total=total,
        pending=0 if summary["status"] == DraftStatus.OPEN else queries.cancellable_in_batch(current_caller().email, draft.id),
        removed=removed,
        removed_text=_removal_text(removed, summary["row_count"]) if removed else "",
        refused=refused,
        errors={"batch": refused} if refused else {},
        shown_in_summary=SHOWN_IN_SUMMARY,
    ), status


@bp.route("/<batch_id>/rows/<row_number:row>", methods=["GET", "POST"])
def edit_row(batch_id, row):
    """Show one row's fields to correct, and save them (the row is checked again)."""
    draft = _draft(batch_id)
    summary = batches.summary(draft)
    if summary["status"] != DraftStatus.OPEN:
        return _already_submitted(batch_id)
    current = batches.get_row(draft, row)
    if request.method == "POST":
        try:
            current = batches.update_row(draft, row, forms.row_changes(request.form), current_caller(), _org_domains())
        except Conflict as exc:
            flash(str(exc), "error")
            return redirect(url_for(".review", batch_id=batch_id))
        if not current["errors"]:
            flash(f"Row {row} is ready to submit.", "success")
            return redirect(_back_to_row(draft, row))
    return render_template(
        "portal/batch/edit_row.html",
        summary=summary,
        row=current,
        values=forms.row_values(current["fields"]),
        raw=current["fields"],
        errors=forms.row_errors(current["errors"]),
        links=_open_request_links([current["errors"]])[0],
        error_order=[field for field, _ in batches.COLUMNS],
        view_args=_view_args(),
    ), (422 if request.method == "POST" else 200)


@bp.post("/<batch_id>/rows/<row_number:row>/remove")
def remove_row(batch_id, row):
    """Take one row out of the draft; the page it returns to offers to undo it."""
    draft = _draft(batch_id)
    try:
        removed = batches.remove_row(draft, row, current_caller())
    except Conflict as exc:
        flash(str(exc), "error")
        return redirect(_back_to_row(draft, row))
    return redirect(_after_removal(draft, removed))


@bp.route("/<batch_id>/remove-attention", methods=["GET", "POST"])
def remove_attention(batch_id):
    """Ask to confirm, then remove every row with a problem of its own and every later copy of a person."""
    draft = _draft(batch_id)
    summary = batches.summary(draft)
    if summary["status"] != DraftStatus.OPEN:
        return _already_submitted(batch_id)
    if request.method == "GET":
        plan = batches.plan_attention_removal(draft)
        return render_template("portal/batch/remove_attention.html", summary=summary, plan=plan,
                               shown=SHOWN_ROW_NUMBERS)
    removed = batches.remove_rows_needing_attention(draft, current_caller())
    if not removed.rows:
        flash("No rows needed attention, so nothing was removed.", "success")
        return redirect(url_for(".review", batch_id=batch_id))
    return redirect(_after_removal(draft, removed, keep_view=False))


@bp.post("/<batch_id>/removals/<removal_id>/undo")
def undo_removal(batch_id, removal_id):
    """Put the rows of a removal back where they were in the file."""
    draft = _draft(batch_id)
    try:
        restored = batches.undo_removal(draft, removal_id, current_caller())
    except Conflict:
        return _already_submitted(batch_id)
    except NotFound:
        flash("Those rows are already back in the batch.", "success")
        return redirect(url_for(".review", batch_id=batch_id, **_view_args()))
    restored_rows = f"{_rows_named(restored)} {'is' if len(restored) == 1 else 'are'}" if restored else "Nothing is"
    flash(f"{restored_rows} back in the batch, as {'it was' if len(restored) == 1 else 'they were'}.", "success")
    return redirect(url_for(".review", batch_id=batch_id, **_view_args()))


def _after_removal(draft, removed, *, keep_view: bool = True) -> str:
    """The review page with the banner saying what went and offering to undo it, at the top where it is seen."""
    args = _view_args() if keep_view else {}
    if keep_view:
        # the page the requester was on may have gone with the row
        found = batches.locate_row(draft, removed.rows[0], errors_only=args.get("attention") == "1")
        args.pop("page", None)
        if found is not None and found[1] // PER_PAGE > 0:
            args["page"] = str(found[1] // PER_PAGE + 1)
    return url_for(".review", batch_id=draft.id, removed=removed.id, **args)


@bp.route("/<batch_id>/reset", methods=["GET", "POST"])
def reset(batch_id):
    """Ask to confirm, then remove every row of the draft."""
    draft = _draft(batch_id)
    summary = batches.summary(draft)
    if summary["status"] != DraftStatus.OPEN:
        return _already_submitted(batch_id)
    if request.method == "GET":
        return render_template("portal/batch/reset.html", summary=summary)
    batches.reset(draft, current_caller())
    flash(f"All rows of {summary['filename']} were removed. Upload a file to start again.", "success")
    return redirect(url_for(".upload"))


@bp.post("/<batch_id>/submit")
@limited("batch_submit")
def submit(batch_id):
    """Send every row as an invite request, all or none."""
    draft = _draft(batch_id)
    # asked only of a batch ready to go: rows that need attention are reported first, by the submit itself
    ready = draft.status == DraftStatus.OPEN and batches.summary(draft)["error_count"] == 0
    warned = batches.vendors_at_officer_addresses(draft, _org_domains()) if ready else []
    if warned and request.form.get(forms.CONFIRM_OFFICER_ADDRESS) != "yes":
        flash(f"{_rows_named(warned)} {'asks' if len(warned) == 1 else 'ask'} for a vendor with a public officer "
              "email address. Check the address, then tick the box to confirm before submitting.", "error")
        return redirect(url_for(".review", batch_id=batch_id, _anchor="submit"))
    try:
        ids = batches.submit_draft(draft, current_caller(), current_app.extensions["outbox"], _org_domains())
    except InvalidInput as exc:
        # nothing was sent: the page says why at the top and links to each row that needs attention
        reasons = exc.errors.get("batch") or ["Some rows need attention before the batch can be submitted."]
        return _review_page(draft, attention=True, refused=reasons, status=422)
    except Conflict:
        return _already_submitted(batch_id)
    flash(f"{len(ids)} request{'s' if len(ids) != 1 else ''} sent for approval.", "success")
    return redirect(url_for("portal.status.index", batch=batch_id))


def _open_request_links(errors: list[dict]) -> list[dict[str, str]]:
    """For each row's errors, {field: link} to the open requests they clash with that the caller made.

    Another officer's request is not linked (the portal would not open it) and its id is not shown."""
    clashes = [forms.open_request_ids(e) for e in errors]
    wanted = {i for found in clashes for i in found.values()}
    own = set()
    if wanted:
        own = {i.id for i in InviteRequest.select(InviteRequest.id).where(
            InviteRequest.id.in_(sorted(wanted)) & (InviteRequest.requester == current_caller().email))}
    return [{name: url_for("portal.status.detail", invite_id=i) for name, i in found.items() if i in own}
            for found in clashes]


def _removal_text(removed, left: int) -> str:
    """What a removal took out, and what is left: "Row 7 was removed. 29 rows are left." """
    count, copies = len(removed.rows), removed.duplicate_count
    if count == 1:
        said = f"Row {removed.rows[0]} was removed."
    else:
        said = f"{_rows_named(removed.rows)} were removed."
    if copies:
        other = count - copies
        said += (f" {copies} {'was a later copy' if copies == 1 else 'were later copies'} of someone already in the batch"
                 f" (the first copy stays)")
        said += f" and {other} had other problems." if other else "."
    return f"{said} {left} row{'s are' if left != 1 else ' is'} left."


def _rows_named(rows: list[int]) -> str:
    """ "Row 4", "Rows 4 and 9", "Rows 4, 9, 12 and 3 more"."""
    if len(rows) == 1:
        return f"Row {rows[0]}"
    shown = [str(r) for r in rows[:5]] + ([f"{len(rows) - 5} more"] if len(rows) > 5 else [])
    return "Rows " + ", ".join(shown[:-1]) + " and " + shown[-1]


def _already_submitted(batch_id: str):
    flash("This batch was already submitted; here are its requests.", "error")
    return redirect(url_for("portal.status.index", batch=batch_id))
