"""The portal offers every invitation method of the message contract through one row each
(portal/invite.py FORMS): its page, its template, the fields it asks and the card that offers it."""
from __future__ import annotations

from pathlib import Path

from invite_common.messages import Method
from invite_common.outbox import Outbox
from invite_common.topology import Topology

import intake
from intake import settings as intake_settings
from intake.app import create_app
from intake.db import database
from intake.invites.schemas import InviteRequestSchema
from intake.invites.words import METHOD_LABELS
from intake.portal.invite import FORMS

TEMPLATES = Path(intake.__file__).parent / "templates"


def test_every_method_has_one_form_with_a_label():
    assert set(FORMS) == set(Method.ALL)
    assert all(METHOD_LABELS.get(method) for method in FORMS)


def test_each_form_asks_fields_the_schema_reads_from_a_template_that_exists_at_a_page_that_is_served():
    endpoints = {rule.endpoint for rule in create_app(intake_settings.load({}), Outbox(database, Topology())).url_map.iter_rules()}
    schema_fields = set(InviteRequestSchema().fields)
    for form in FORMS.values():
        assert form.view in endpoints, form.method
        assert (TEMPLATES / form.template).is_file(), form.template
        assert form.fields and set(form.fields) <= schema_fields, form.method
        assert form.fields[0] == "email" and form.when_to_use
