"""The batch migration builds exactly the tables the batch models expect, on SQLite and PostgreSQL."""
import peewee
import pytest

from intake.models import BatchDraft, BatchRow


@pytest.mark.parametrize("model", [BatchDraft, BatchRow], ids=lambda m: m.__name__)
def test_migrated_batch_table_has_the_models_columns(intake_db, model):
    columns = {c.name for c in intake_db.get_columns(model._meta.table_name)}
    assert columns == {f.column_name for f in model._meta.sorted_fields}


def test_a_row_number_appears_once_per_draft(intake_db):
    BatchDraft.create(id="d1", requester="amy@tech.gov.sg", filename="f.csv")
    BatchRow.create(draft="d1", row=2, fields="{}")
    with pytest.raises(peewee.IntegrityError), intake_db.atomic():
        BatchRow.create(draft="d1", row=2, fields="{}")
