"""Intake's migrations build exactly the tables its models expect, on SQLite and PostgreSQL."""
import pytest

from intake import models
from invite_common.db import apply_migrations

from intake.migrations import MIGRATIONS

MODELS = [m for m in vars(models).values() if isinstance(m, type) and issubclass(m, models.BaseModel) and m is not models.BaseModel]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_migrated_table_has_the_models_columns(intake_db, model):
    columns = {c.name for c in intake_db.get_columns(model._meta.table_name)}
    assert columns == {f.column_name for f in model._meta.sorted_fields}


def test_applying_migrations_again_does_nothing(intake_db):
    assert apply_migrations(intake_db, MIGRATIONS) == 0
