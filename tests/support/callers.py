"""Callers of intake in its own process through Flask's test client: the API as a signed-in person
(the development identity header) and a portal session signed in on the development sign-in page."""
from __future__ import annotations


def as_user(client, email):
    """Return a caller function sending requests as `email` (dev identity)."""

    def call(method, path, **kwargs):
        headers = kwargs.pop("headers", {}) | {"X-Dev-User": email}
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


def signed_in(client, email):
    """Sign `client` in on the portal's development sign-in page as `email` and return it."""
    response = client.post("/sign-in", data={"email": email})
    assert response.status_code == 302, response.text
    return client
