"""Guard every portal page (signed in, a public officer or an auditor, the area's role) and give the layout what it shows on each page."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, has_request_context, redirect, request, session, url_for

from intake.auth import identity
from intake.errors import Forbidden
from intake.web.headers import secure_headers

# The pages anyone may open: signing in, and signing out (also for someone who may not use the portal).
PUBLIC_ENDPOINTS = frozenset({"portal.auth.sign_in", "portal.auth.sign_out", "portal.auth.start", "portal.auth.callback"})

AUDIT_AREA = "portal.audit"

AUDIT_NAV = (
    ("portal.audit.search", "Audit history", ()),
    ("portal.audit.roles", "Role changes", ()),
    ("portal.audit.stand_ins_page", "Stand-ins", ()),
    ("portal.audit.integrity", "Integrity", ()),
)

NAV = (
    ("portal.overview.show", "Overview", ("portal.overview",)),
    ("portal.invite.choose", "Invite users", ("portal.invite", "portal.batch")),
    ("portal.status.index", "Invite status", ("portal.status",)),
)
# Shown to approvers beside the requester's pages, with how many requests wait for them.
APPROVER_NAV = ("portal.approvals.index", "Requests to approve", ("portal.approvals", "portal.stand_ins"))
ROLE_WORDS = {"requester": "Requester", "approver": "Approver", "auditor": "Auditor", "admin": "Administrator"}
# Shown only to administrators.
ADMIN_NAV = (("portal.admin.roles_page", "Roles", ("portal.admin",)),
             ("portal.reassignment.index", "Waiting requests", ("portal.reassignment",)))

def safe_next(target: str | None) -> str | None:
    """Return target if it is a path on this site, so sign-in can never redirect elsewhere."""
    if not target or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return None
    return target


def area_guard():
    """The guard the page's area declares beside its blueprint (auth/guards.py), or None."""
    for name in request.blueprints:
        guard = getattr(current_app.blueprints.get(name), "guard", None)
        if guard is not None:
            return guard
    return None


def guard_page():
    """Check, once, what the page needs: sign-in, then in the audit area an auditor; anywhere else a
    public officer (a requester), holding the area's role where it names one."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if identity.session_email() is None:
        # The overview is where sign-in lands anyway; only a deeper page is worth remembering.
        wanted = request.full_path.rstrip("?") if request.method == "GET" and request.path != "/" else None
        return redirect(url_for("portal.auth.sign_in", next=safe_next(wanted)))
    caller = identity.current_caller()
    guard = area_guard()
    if AUDIT_AREA in request.blueprints:
        guard.check(caller)  # auditors only: an auditor makes no requests
        return None
    if not caller.is_requester:
        if caller.is_auditor:
            # an auditor's portal is the audit area; requesters' pages have nothing for them
            return redirect(url_for("portal.audit.search"))
        raise Forbidden(not_a_requester_message())
    if guard is not None:
        guard.check(caller)
    return None


def not_a_requester_message() -> str:
    """Say who the portal is for, naming the organisation's domains."""
    domains = " or ".join(current_app.config["ORG_DOMAINS"])
    return f"Invite Users is for public officers with an email address ending in {domains}."


def layout_context() -> dict:
    """Who is signed in and the sidebar links, with the current one marked."""
    email = identity.session_email() if has_request_context() else None
    caller = g.get("caller") or (identity.caller_for(email, session.get(identity.SESSION_CLAIM_ROLES) or ())
                                 if email else None)
    show_nav = bool(caller and (caller.is_requester or caller.is_auditor))
    nav = []
    if show_nav:
        if caller.is_requester:
            entries = list(NAV)
            if caller.is_approver:
                from intake.portal.approvals import waiting_count

                endpoint, label, areas = APPROVER_NAV
                entries.append((endpoint, f"{label} ({waiting_count()})", areas))
            if caller.is_admin:
                entries += ADMIN_NAV
        else:
            entries = list(AUDIT_NAV)
        for endpoint, label, areas in entries:
            href = url_for(endpoint)
            if request.path == href:
                current = "page"
            elif any(a in request.blueprints for a in areas):
                current = "true"
            else:
                current = None
            nav.append({"href": href, "label": label, "current": current})
    # what the person may do here: an auditor's other grants lapse while they audit (identity.Caller)
    roles = [word for role, word in ROLE_WORDS.items() if caller and getattr(caller, f"is_{role}")]
    return {"signed_in_as": email, "signed_in_roles": roles, "show_nav": show_nav, "nav": nav}


def install(bp) -> None:
    """Guard, dress and decorate every portal page."""
    bp.before_request(guard_page)
    bp.after_request(secure_headers)
    bp.app_context_processor(layout_context)
