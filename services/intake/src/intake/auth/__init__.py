"""Who may use intake and how they prove it: sessions, OpenID Connect sign-in, API tokens, roles, settings."""
