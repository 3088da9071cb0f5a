"""Intake against a real OpenID Connect provider (oidc-provider, see tests/support/oidc.py), on SQLite and PostgreSQL."""
import pytest

from intake import settings as intake_settings
from intake.app import create_app
from tests.support.oidc import REDIRECT_URI, OpenIDProvider, skip_unless_available


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """The provider, started once for the module; skipped with the reason where Node.js is missing."""
    skip_unless_available()
    running = OpenIDProvider(tmp_path_factory.mktemp("oidc"), REDIRECT_URI, "http://127.0.0.1:5999/sign-in").start()
    yield running
    running.stop()


@pytest.fixture
def oidc_app(intake_db, outbox, provider):
    """Intake in oidc mode, pointed at the provider, with no grants in its role table."""
    return create_app(intake_settings.load({"ENV": "test", **provider.settings()}), outbox)


@pytest.fixture
def bearer_api(oidc_app):
    """Call the API with a bearer token (or none)."""
    client = oidc_app.test_client()

    def call(method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


@pytest.fixture(scope="module")
def intake_process(tmp_path_factory, amqp_url, provider):
    """Intake as it runs (waitress, its own process) in oidc mode against the provider, on SQLite."""
    import uuid

    from invite_common.topology import Topology
    from tests.support.broker import delete_namespace
    from tests.support.system import RunningSystem, system_env

    root = tmp_path_factory.mktemp("intake-oidc")
    namespace = f"o{uuid.uuid4().hex[:10]}"
    env = system_env(amqp_url=amqp_url, namespace=namespace, smtp_url="smtp://127.0.0.1:9", var_dir=root / "var",
                     db_urls={s: f"sqlite:///{root / (s + '.db')}" for s in ("intake", "approval", "notifier")},
                     ENV="test", **provider.settings())
    running = RunningSystem(env=env, logs=root)
    try:
        running.start("intake")
        yield running
    finally:
        running.stop()
        delete_namespace(amqp_url, Topology(namespace=namespace))
