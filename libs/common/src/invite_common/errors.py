"""Error kinds that decide what a consumer does with a message that failed."""


class TransientError(Exception):
    """The work may succeed later (DB busy, SMTP 4xx, directory timeout): retry with backoff."""


class PermanentError(Exception):
    """The work can never succeed as asked (bad data, policy refusal): dead-letter it."""


class Outage(TransientError):
    """Something the work depends on is down (mail server unreachable): the message is not at
    fault, so it waits and is tried again without using up its retries."""
