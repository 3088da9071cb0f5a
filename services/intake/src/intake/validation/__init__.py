"""The rules every field obeys, whichever door it comes in by (API, portal pages, batch rows), and their OpenAPI form."""
