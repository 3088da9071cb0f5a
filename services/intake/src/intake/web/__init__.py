"""The web app's plumbing, shared by the portal and the API: configuration, health, metrics, headers, the server."""
