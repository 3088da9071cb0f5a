"""What intake shows anyone who reaches its public port: no metrics there, and no API document or
interactive docs in production unless API_DOCS turns them on."""
import pytest
import requests

from intake import settings as intake_settings
from intake.app import create_app
from tests.intake.portal.test_sign_in import PRODUCTION
from tests.intake.test_http_server import start_intake
from tests.support.metrics import scrape

# what is checked here is decided before any query: one database is enough

DOCS = ("/api/docs", "/api/openapi.json", "/api/docs/static/swagger-ui.css")


def statuses(app, paths) -> list[int]:
    client = app.test_client()
    return [client.get(path).status_code for path in paths]


def test_production_serves_no_api_document_nor_docs(outbox):
    assert statuses(create_app(intake_settings.load(PRODUCTION), outbox), DOCS) == [404, 404, 404]


def test_api_docs_turns_them_on_in_production(outbox):
    assert statuses(create_app(intake_settings.load(PRODUCTION | {"API_DOCS": "true"}), outbox), DOCS) == [200, 200, 200]


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_and_tests_serve_them_unless_api_docs_turns_them_off(outbox, env):
    assert statuses(create_app(intake_settings.load({"ENV": env}), outbox), DOCS) == [200, 200, 200]
    assert statuses(create_app(intake_settings.load({"ENV": env, "API_DOCS": "false"}), outbox), DOCS) == [404, 404, 404]


def test_the_portals_port_serves_no_metrics(client):
    assert client.get("/metrics").status_code == 404


def test_a_running_intake_serves_its_metrics_on_a_listener_of_their_own(tmp_path, amqp_url, db_url):
    intake, cleanup = start_intake(tmp_path, amqp_url)
    try:
        assert requests.get(f"{intake.base}/api/v1/invites", headers={"X-Dev-User": "amy@tech.gov.sg"},
                            timeout=5).status_code == 200
        assert requests.get(f"{intake.base}/metrics", timeout=5).status_code == 404
        samples = scrape(f"http://{intake.env['INTAKE_METRICS_BIND']}/metrics")
        counted = [s for (name, labels), s in samples.items() if name == "invites_http_requests_total"
                   and dict(labels).get("route") == "/api/v1/invites"]
        assert counted and sum(counted) >= 1
        assert any(name == "invites_outbox_backlog" for name, _ in samples)
    finally:
        cleanup()
