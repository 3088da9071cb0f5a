"""The portal: server-rendered pages to sign in, invite users, follow requests and, for approvers, decide on them."""
from flask import Blueprint, Flask

from intake.auth.identity import PORTAL_BLUEPRINT

bp = Blueprint(PORTAL_BLUEPRINT, __name__)

# Imported after `bp` exists: each area is a child blueprint, named in its endpoints (portal.status.detail).
from intake.portal import admin, approvals, audit, auth, batch, errors, invite, labels, layout, overview, reassignment, stand_ins, status  # noqa: E402

for _area in (auth, overview, invite, batch, status, stand_ins, approvals, admin, reassignment, audit):
    bp.register_blueprint(_area.bp)
layout.install(bp)
errors.register_portal_errors(bp)
labels.register(bp)



def register_portal(app: Flask) -> None:
    """Serve the portal's pages."""
    app.register_blueprint(bp)


__all__ = ["bp", "register_portal"]
