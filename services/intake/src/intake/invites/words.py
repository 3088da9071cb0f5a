"""The words people read for a request's method and its invitee's type, on pages and in emails alike."""
from __future__ import annotations

from invite_common.messages import Method, UserType

METHOD_LABELS = {Method.EMAIL_INVITATION: "Email invitation", Method.CREATE_ACCOUNT: "Create account"}
USER_TYPE_LABELS = {UserType.PUBLIC_OFFICER: "Public officer", UserType.VENDOR: "Vendor"}
