"""The intake service's database handle, bound at start-up to the URL in INTAKE_DB_URL."""
import peewee

database = peewee.DatabaseProxy()


class BaseModel(peewee.Model):
    """Base of every intake table: all of them live in intake's own database."""

    class Meta:
        database = database
