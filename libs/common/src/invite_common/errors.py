"""Error kinds that decide what a consumer does with a message that failed."""


class TransientError(Exception):
    """The work may succeed later (DB busy, SMTP 4xx, directory timeout): retry with backoff."""


class PermanentError(Exception):
    """The work can never succeed as asked (bad data, policy refusal): dead-letter it."""
