"""The notifier service's database handle, bound at start-up to the URL in NOTIFIER_DB_URL."""
import peewee

database = peewee.DatabaseProxy()


class BaseModel(peewee.Model):
    """Base of every notifier table: all of them live in notifier's own database."""

    class Meta:
        database = database
