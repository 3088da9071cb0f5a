"""The sign-in settings intake refuses to start with, so a mistake stops the service instead of opening it."""
from __future__ import annotations

from urllib.parse import urlsplit

from invite_common.config import ConfigError, Settings

from intake.auth.roles import GrantError, check_may_hold, parse_role_grants
from intake.validation.rules import parse_org_domains

MIN_SECRET_BYTES = 32
# Words that example files and tutorials put where a secret belongs.
PLACEHOLDERS = ("change-me", "changeme", "change_me", "replace-me", "replaceme", "placeholder", "your-secret",
                "secret-key", "secretkey", "example", "xxxxxxxx")
# A key of 32 bytes drawn from fewer distinct characters than this was typed, not generated.
MIN_DISTINCT_CHARACTERS = 10
OIDC_REQUIRED = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_AUDIENCE")


def dev_identity_allowed(settings: Settings) -> bool:
    """Tell whether the development identity (X-Dev-User, the dev sign-in page) may be used at all."""
    return settings.auth_mode == "dev" and settings.env in ("development", "test")


def secret_key_problem(key: str) -> str | None:
    """Say what is wrong with a production SECRET_KEY, or None when it will do."""
    if not key:
        return "SECRET_KEY is not set"
    if len(key.encode()) < MIN_SECRET_BYTES:
        return f"SECRET_KEY is shorter than {MIN_SECRET_BYTES} bytes"
    lowered = key.lower()
    if any(word in lowered for word in PLACEHOLDERS):
        return "SECRET_KEY is still a placeholder"
    if len(set(key)) < MIN_DISTINCT_CHARACTERS:
        return "SECRET_KEY does not look random"
    return None


def check(settings: Settings) -> None:
    """Raise ConfigError naming the first setting intake must not start with."""
    try:
        grants = parse_role_grants(settings.role_grants)
        org_domains = parse_org_domains(settings.org_email_domains)
    except (GrantError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    for role, email in grants:
        try:
            check_may_hold(role, email, org_domains)
        except GrantError as exc:
            raise ConfigError(f"ROLE_GRANTS entry {role}:{email}: {exc}") from None
    if settings.env == "production":
        if settings.auth_mode != "oidc":
            raise ConfigError(f"AUTH_MODE={settings.auth_mode} (the development sign-in) is refused when "
                              "ENV=production; use AUTH_MODE=oidc")
        problem = secret_key_problem(settings.secret_key)
        if problem:
            raise ConfigError(f"{problem}; ENV=production needs at least {MIN_SECRET_BYTES} random bytes, e.g. "
                              "python3 -c \"import secrets; print(secrets.token_urlsafe(48))\"")
    if settings.auth_mode == "oidc":
        values = {"OIDC_ISSUER": settings.oidc_issuer, "OIDC_CLIENT_ID": settings.oidc_client_id,
                  "OIDC_CLIENT_SECRET": settings.oidc_client_secret, "OIDC_AUDIENCE": settings.oidc_audience}
        missing = [name for name in OIDC_REQUIRED if not values[name]]
        if missing:
            raise ConfigError(f"AUTH_MODE=oidc needs {', '.join(missing)}")
        # ID tokens are addressed to the client id: an API audience equal to it would let an ID
        # token pass as an access token
        if settings.oidc_audience.strip() == settings.oidc_client_id.strip():
            raise ConfigError("OIDC_AUDIENCE must name the API, not repeat OIDC_CLIENT_ID (ID tokens carry the client id)")
        if settings.env == "production" and any(w in settings.oidc_client_secret.lower() for w in PLACEHOLDERS):
            raise ConfigError("OIDC_CLIENT_SECRET is still a placeholder; use the secret the provider issued")
        for name, url in (("OIDC_ISSUER", settings.oidc_issuer), ("OIDC_REDIRECT_URI", settings.oidc_redirect_uri)):
            if not url:
                continue
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.netloc:
                raise ConfigError(f"{name}={url!r} is not an http(s) URL")
            # tokens and codes travel over this: plain HTTP only for a provider on the same machine in tests
            if settings.env == "production" and parts.scheme != "https":
                raise ConfigError(f"{name} must be an https URL when ENV=production")
