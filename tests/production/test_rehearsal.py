"""The production rehearsal: the three services started the way the deployment files ship them, with
ENV=production and the environment each workload's manifest gives it, against real parts.

The environment comes from the shipped files themselves: `kubectl kustomize` renders deploy/k8s (the
migration Job included) from a copy whose config folder holds what an operator adds (secrets.env,
filled in from its example with strong random values; the history's signing key; the CA bundle), and
deploy/compose.yaml is read with its variables interpolated from a filled-in copy of its .env
example. Only what SWAPS lists differs from production.

Real parts: a RabbitMQ node of this run's own, over TLS, holding the shipped definitions.json and the
users' passwords from the secrets; a PostgreSQL cluster of its own with password authentication and
the roles of deploy/postgres/roles.sql; the OpenID provider of tests/oidc over https; a SCIM directory
over https with bearer tokens; an SMTP relay over implicit TLS with a login; Redis for intake's
limits; a TLS terminator in front of intake, as the ingress; Chromium. The migration Job runs first, exactly as shipped; then one
journey from sign-in to the invitee's email and the auditor's integrity check; production's refusal
of a missing portal address or a relay without TLS; then each service gets SIGTERM as PID 1 of its own PID namespace while requests flow; then compose's environment.
"""
from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import psycopg2
import pytest
import requests
import trustme
from psycopg2 import errors

from tests.production.rehearsal import rehearse
from tests.production.timings import record
from tests.support.deployment import DEPLOY
from tests.support.ports import free_port
from tests.support.mailbox import text_of
from tests.support.release import Process
from tests.support.traffic import Traffic

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

# What differs from production, and nothing else: every other value each process gets is the shipped
# files' own. The middle column names the part serving that address here (`rehearse` in conftest.py).
SWAPS = (
    # shipped                    here                                              why
    ("postgres.internal:5432",   "postgres",   "a private PostgreSQL cluster, SCRAM passwords, roles.sql's roles"),
    ("rabbitmq.internal:5671",   "rabbitmq-tls", "a private RabbitMQ node's TLS listener, definitions.json loaded"),
    ("smtp.internal:465",        "relay",      "aiosmtpd over implicit TLS, AUTH with the secret's user"),
    ("login.example.gov.sg",     "provider",   "oidc-provider (tests/oidc) over https"),
    ("directory.internal",       "directory",  "scim2-server over https with bearer tokens"),
    ("invites.example.gov.sg",   "ingress",    "a TLS terminator in front of intake, as the ingress"),
    ("postgres:5432",            "postgres",   "compose's database service"),
    ("rabbitmq:5672",            "rabbitmq",   "compose's broker service: the same node's plain listener"),
    ("redis:6379",               "redis",      "redis-server, nothing on disk (k8s's Service and compose's)"),
    ("10.244.0.0/16",            "loopback",   "TRUSTED_PROXY: the ingress here connects from loopback, not a pod range"),
    ("0.0.0.0:8080",             "intake-http", "loopback ports of this run"),
    ("0.0.0.0:8083",             "intake-metrics", ""),
    ("0.0.0.0:8081",             "approval-http", ""),
    ("0.0.0.0:8082",             "notifier-http", ""),
    # and: each CHANGE-ME of the example secrets -> 64 random hex digits; DIRECTORY_URL (empty in the
    # example) -> https://directory.internal/v2; ca-bundle.pem -> this run's test CA; files mounted into
    # a container -> the same content at a local path; the image's /opt/invites -> this checkout's .venv
)
SERVICES = ("intake", "approval", "notifier")


@pytest.fixture(scope="module")
def release():
    """Every part, the migration Job, then the three services ready, addressed through SWAPS."""
    yield from rehearse(SWAPS)


def runtime_urls(release) -> dict[str, str]:
    return {s: release.env[s][f"{s.upper()}_DB_URL"] for s in SERVICES}


# -- the migration step ---------------------------------------------------------------------------

def test_the_migration_job_runs_as_shipped_and_the_services_roles_can_change_no_schema(release):
    migration = release.migration
    assert migration.returncode == 0, migration.stdout[-4000:]
    for service, url in runtime_urls(release).items():
        conn = psycopg2.connect(url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT table_name, min(column_name) FROM information_schema.columns "
                            "WHERE table_schema = 'public' GROUP BY table_name ORDER BY table_name")
                tables = cur.fetchall()
                assert tables, f"{service}'s database has no tables"
                for table, _ in tables:  # reading and writing rows is granted on every table
                    cur.execute(f'SELECT count(*) FROM "{table}"')
                table, column = tables[0]
                for statement in ("CREATE TABLE intruder (id int)", f'ALTER TABLE "{table}" ADD COLUMN intruder int',
                                  f'DROP TABLE "{table}"', f'CREATE INDEX intruder ON "{table}" ("{column}")',
                                  f'TRUNCATE "{table}"'):
                    with pytest.raises(errors.InsufficientPrivilege):
                        cur.execute(statement)
        finally:
            conn.close()


def test_a_service_refuses_to_start_on_a_schema_with_migrations_pending(release):
    """The proof that production never migrates on start: a service pointed at an empty database of
    its own stops at start, naming the migrations, and leaves the database as it was."""
    pg = release.postgres
    password = uuid.uuid4().hex
    pg.psql("-c", f"CREATE ROLE pending LOGIN PASSWORD '{password}'", "-c", "CREATE DATABASE pending OWNER pending")
    env = dict(release.env["notifier"], NOTIFIER_DB_URL=pg.url("pending", password, "pending"))
    done = release.run_once("notifier-pending", ["python", "-m", "notifier"], env)
    assert done.returncode != 0 and "migrations" in done.stdout and "pending" in done.stdout, done.stdout[-2000:]
    tables = pg.psql("-At", "-c", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database="pending")
    assert tables.stdout.strip() == "0"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_answers_where_its_probes_and_prometheus_look(release, service):
    """The Deployment's probes and scrape annotations name ports and paths the service serves on."""
    release.require_started()
    checks = release.workloads[service].checks
    assert {"startupProbe", "livenessProbe", "readinessProbe", "prometheus"} <= set(checks)
    for check, (path, port) in checks.items():
        local = release.swaps.apply(f"0.0.0.0:{port}")
        answer = requests.get(f"http://{local}{path}", timeout=5)
        assert answer.status_code == 200, (check, path, port, answer.text[:300])
        if check == "prometheus":
            assert "# TYPE" in answer.text


# -- one whole journey in the browser --------------------------------------------------------------

def sign_in(page, email: str) -> None:
    """From the portal's sign-in page through the provider's own login form, back to the portal."""
    from playwright.sync_api import expect

    page.goto("/")
    page.get_by_role("button", name="Sign in with your organisation account").click()
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill("any password will do")
    page.get_by_role("button", name="Sign-in").click()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()


def test_a_request_goes_from_sign_in_through_approval_to_the_invitees_email_and_an_intact_audit_chain(release, new_page):
    release.require_started()
    from playwright.sync_api import expect

    started = time.monotonic()
    invitee = f"jun.hao.{uuid.uuid4().hex[:6]}@tech.gov.sg"
    page = new_page()
    sign_in(page, "amy@tech.gov.sg")
    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Invite users").click()
    page.get_by_role("link", name="Email invitation").click()
    page.get_by_label("Email address", exact=True).fill(invitee)
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("No", exact=True).check()
    page.get_by_label("Reason for the request").fill("Joining the data platform team")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Submit request").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Request sent for {invitee}")
    request_id = page.url.rstrip("/").rsplit("/", 1)[-1]

    approver = new_page()
    sign_in(approver, "bob@tech.gov.sg")
    approver.goto(f"/approvals/{request_id}")
    expect(approver.get_by_role("heading", level=1)).to_have_text(f"Request for {invitee}")
    approver.get_by_label("Comment (optional)").fill("Welcome to the team")
    approver.get_by_role("button", name="Approve", exact=True).click()
    expect(approver.get_by_text(f"You approved the request for {invitee}")).to_be_visible()

    [mail] = release.relay.wait_for(invitee, timeout=30)
    assert mail["X-Received-Over"] == "tls"
    assert mail["X-Authenticated-As"] == urlsplit(release.env["notifier"]["SMTP_URL"]).username
    assert mail["From"] == release.env["notifier"]["MAIL_FROM"]
    assert release.env["notifier"]["ACTIVATION_URL"] in text_of(mail)
    assert [u["userName"] for u in release.directory.users if invitee in str(u)], "no account in the directory"

    auditor = new_page()
    sign_in(auditor, "carol@tech.gov.sg")
    auditor.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Integrity").click()
    result = auditor.locator("#integrity-result")
    for _ in range(40):  # the history chains new entries within seconds
        if "Intact," in result.inner_text() and "0 (chained within seconds)" in auditor.content():
            break
        auditor.wait_for_timeout(500)
        auditor.reload()
    expect(result).to_contain_text("Intact,")
    record("journey: sign-in to the auditor's intact chain", time.monotonic() - started)


def test_intake_counts_each_persons_actions_in_the_shipped_redis(release):
    """RATE_LIMIT_STORAGE_URL as shipped: the counts every intake replica shares are kept in Redis,
    under the address the ingress forwarded (believed from TRUSTED_PROXY's range)."""
    release.require_started()
    answer = requests.get(f"{release.ingress.url}/sign-in/start", allow_redirects=False, timeout=10,
                          verify=str(release.authority.ca_file))
    assert answer.status_code == 302, answer.text[:300]
    keys = [key.decode() for key in release.redis.client().keys("*")]
    assert any("sign_in_redirects" in key and "addr:127.0.0.1" in key for key in keys), keys


# -- production's refusals --------------------------------------------------------------------------

@pytest.mark.parametrize("service, change, refusal", [
    ("intake", {"PORTAL_URL": None}, "configuration error: PORTAL_URL is not set"),
    ("intake", {"PORTAL_URL": "http://invites.example.gov.sg"}, "configuration error: PORTAL_URL must be an https://"),
    ("notifier", {"SMTP_URL": None}, "configuration error: SMTP_URL is not set"),
    ("notifier", {"SMTP_URL": "smtp://invites:{password}@smtp.internal:25"}, "configuration error: SMTP_URL does not use TLS"),
    ("notifier", {"SMTP_URL": "smtp://invites:{password}@smtp.internal:587?starttls=false"},
     "configuration error: SMTP_URL does not use TLS"),
], ids=["intake-no-portal-url", "intake-http-portal-url", "notifier-no-smtp-url", "notifier-plain-smtp",
        "notifier-starttls-false"])
def test_production_will_not_start_without_the_portals_address_or_a_relay_over_tls(release, service, change, refusal):
    """The shipped environment with one setting taken away or made unsafe: the service exits at once,
    its one line naming the setting, and the relay's password appears nowhere in what it printed."""
    password = urlsplit(release.env["notifier"]["SMTP_URL"]).password
    env = dict(release.env[service], **{f"{service.upper()}_BIND": f"127.0.0.1:{free_port()}"})
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value.format(password=password)
    done = release.run_once(f"{service}-refused-{uuid.uuid4().hex[:6]}", release.workloads[service].command, env,
                            timeout=60)
    assert done.returncode != 0 and refusal in done.stdout, done.stdout[-2000:]
    assert password not in done.stdout


# -- SIGTERM while requests flow --------------------------------------------------------------------

def test_each_service_stops_on_sigterm_as_pid_1_within_its_grace_period_while_requests_flow(release):
    release.require_started()
    traffic = Traffic(release.ingress.url, release.api_tokens(), requesters=release.requesters,
                      approvers=release.approvers, verify=str(release.authority.ca_file))
    traffic.start()
    try:
        for service in SERVICES:
            process = release.processes[service]
            assert process.pid1.namespace_pid() == 1
            time.sleep(1.5)
            before = len(traffic.accepted)
            status, seconds = process.terminate(release.grace_seconds[service])
            record(f"{service}: SIGTERM to exit under traffic", seconds)
            assert status == 0, f"{service} exited with {status} after {seconds:.1f}s:\n{process.log()[-3000:]}"
            assert seconds < release.grace_seconds[service]
            process.start()
            record(f"{service}: restart to ready", process.wait_ready())
            time.sleep(1.5)
            assert len(traffic.accepted) > before or service == "intake", f"none accepted meanwhile: {traffic.refused} {traffic.last_answer}"
    finally:
        traffic.stop()
    assert len(traffic.accepted) >= 10, traffic.refused

    # nothing accepted is lost or sent twice
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        counts = {email: len(release.relay.to(email)) for email in traffic.accepted.values()}
        if all(n >= 1 for n in counts.values()):
            break
        time.sleep(0.5)
    time.sleep(2)  # a second copy would come about now
    counts = {email: len(release.relay.to(email)) for email in traffic.accepted.values()}
    assert [e for e, n in counts.items() if n == 0] == [], "accepted requests never emailed"
    assert [e for e, n in counts.items() if n > 1] == [], "requests emailed more than once"
    auditor = release.api_tokens()["carol@tech.gov.sg"]
    for invite_id in traffic.accepted:
        answer = requests.get(f"{release.ingress.url}/api/v1/invites/{invite_id}", timeout=10,
                              headers={"Authorization": f"Bearer {auditor}"}, verify=str(release.authority.ca_file))
        assert answer.json()["state"] == "emailed", answer.text
    record(f"requests accepted while the services were stopped and started: {len(traffic.accepted)}", 0)


def test_the_services_wrote_nothing_in_their_working_folders(release):
    """The containers' root file systems are read-only: nothing may need writing beside /tmp."""
    release.require_started()
    for service in SERVICES:
        assert list(release.processes[service].workdir.iterdir()) == [], service


def other_authority(release) -> dict[str, str]:
    other = release.root / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    return {"TLS_CA_FILE": str(other)}


def wrong_password(release) -> dict[str, str]:
    url = urlsplit(release.env["notifier"]["NOTIFIER_AMQP_URL"])
    return {"NOTIFIER_AMQP_URL": url._replace(netloc=url.netloc.replace(url.password, "not-the-password")).geturl()}


@pytest.mark.parametrize("change", [other_authority, wrong_password], ids=["another-authority", "wrong-password"])
def test_a_service_that_cannot_open_an_authenticated_tls_channel_to_the_broker_is_never_ready(release, change):
    """TLS stays TLS and readiness means a broker login: given another authority's bundle (the broker's
    certificate is checked) or a wrong password, the notifier cannot open its channel and is not ready."""
    release.require_started()
    env = dict(release.env["notifier"], NOTIFIER_BIND=f"127.0.0.1:{free_port()}") | change(release)
    process = Process(f"notifier-{change.__name__}", release.workloads["notifier"].command, env,
                      release.root / "work" / change.__name__, release.root / "logs",
                      ready_url=f"http://{env['NOTIFIER_BIND']}/readyz").start()
    try:
        answers, body = [], ""
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            try:
                answer = requests.get(process.ready_url, timeout=2)
                answers.append(answer.status_code)
                body = answer.text
            except requests.RequestException:
                pass
            time.sleep(0.3)
        assert answers and set(answers) == {503}, (answers, process.log()[-2000:])
        assert "broker" in body
    finally:
        status, _ = process.terminate(release.grace_seconds["notifier"])
    assert status == 0


# -- compose's environment ------------------------------------------------------------------------

def test_each_service_becomes_ready_with_composes_environment(release):
    release.require_started()
    started = time.monotonic()
    compose = release.with_compose()
    assert compose.init.returncode == 0, compose.init.stderr[-4000:]
    assert compose.migration.returncode == 0, compose.migration.stdout[-4000:]
    for service in SERVICES:
        process = compose.processes[service]
        record(f"compose {service}: start to ready", process.wait_ready())
        # the image's HEALTHCHECK, run inside the container as compose runs it
        probe = release.exec_in(process, ["python", "-m", "invite_common.probe"])
        assert probe.returncode == 0, probe.stdout + probe.stderr
    for service in SERVICES:
        status, seconds = compose.processes[service].terminate(30)
        assert status == 0, compose.processes[service].log()[-3000:]
    record("compose: migrate, start, probe and stop", time.monotonic() - started)


def test_the_swaps_name_only_addresses_the_shipped_files_use():
    shipped = "".join(p.read_text() for p in [DEPLOY / "compose.yaml", DEPLOY / "compose.env.example",
                                             *(DEPLOY / "k8s").rglob("*.yaml"), DEPLOY / "k8s/config/secrets.env.example",
                                             DEPLOY / "k8s/config/settings.env", DEPLOY / "Dockerfile"])
    missing = [address for address, _, _ in SWAPS if address not in shipped and address != "directory.internal"]
    assert missing == []


def test_the_rehearsal_took_less_than_five_minutes(release):
    total = time.monotonic() - release.started
    record("rehearsal so far", total)
    assert total < 300
