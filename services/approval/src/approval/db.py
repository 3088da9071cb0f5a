"""The approval service's database handle, bound at start-up to the URL in APPROVAL_DB_URL."""
import peewee

database = peewee.DatabaseProxy()


class BaseModel(peewee.Model):
    """Base of every approval table: all of them live in approval's own database."""

    class Meta:
        database = database
