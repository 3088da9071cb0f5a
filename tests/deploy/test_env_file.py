"""deploy/check_env.py holds deploy/.env to deploy/compose.yaml: Compose ignores an env-file variable
its file never names, so a misspelt one would leave a setting at its default without a word."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCRIPT = DEPLOY / "check_env.py"
EXAMPLE = DEPLOY / "compose.env.example"

# a script of deploy/, run by operators as it stands, not a package to install
_spec = importlib.util.spec_from_file_location("check_env", SCRIPT)
check_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_env)


def filled_in(tmp_path: Path, change=lambda text: text) -> Path:
    """The example with every CHANGE-ME replaced, as an operator leaves it; `change` edits it further."""
    env = tmp_path / ".env"
    env.write_text(change(EXAMPLE.read_text().replace("CHANGE-ME", "s3cretvalue0123456789abcdef0123456789")))
    return env


def run(env: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(env)], capture_output=True, text=True, timeout=30)


def test_the_example_names_only_variables_compose_reads():
    names = {line.split("=", 1)[0] for line in EXAMPLE.read_text().splitlines() if line and not line.startswith("#")}
    assert names and names <= check_env.variables_compose_reads()


def test_every_variable_compose_reads_without_a_default_is_in_the_example():
    compose = (DEPLOY / "compose.yaml").read_text()
    with_default = {name for name in check_env.variables_compose_reads() if f"${{{name}:-" in compose}
    in_example = {line.split("=", 1)[0] for line in EXAMPLE.read_text().splitlines() if line and not line.startswith("#")}
    assert check_env.variables_compose_reads() - with_default <= in_example


def test_a_filled_in_env_file_passes(tmp_path):
    done = run(filled_in(tmp_path))
    assert done.returncode == 0, done.stdout
    assert "s3cretvalue" not in done.stdout


def test_a_misspelt_variable_is_refused_naming_the_one_it_was_meant_to_be(tmp_path):
    env = filled_in(tmp_path, lambda text: text.replace("SECRET_KEY=", "SECERT_KEY="))
    done = run(env)
    assert done.returncode == 1
    assert "SECERT_KEY is not read by compose.yaml (did you mean SECRET_KEY?)" in done.stdout
    assert "s3cretvalue" not in done.stdout


def test_a_value_left_at_change_me_is_refused(tmp_path):
    env = filled_in(tmp_path, lambda text: re.sub(r"(?m)^SMTP_URL=.*$", "SMTP_URL=CHANGE-ME", text))
    done = run(env)
    assert done.returncode == 1 and "SMTP_URL still reads CHANGE-ME" in done.stdout


def test_a_missing_env_file_says_how_to_make_it(tmp_path):
    done = run(tmp_path / "absent.env")
    assert done.returncode == 1 and "cp deploy/compose.env.example deploy/.env" in done.stdout


def test_a_literal_dollar_in_compose_is_not_taken_for_a_variable(tmp_path):
    compose = tmp_path / "compose.yaml"
    compose.write_text('x: "$${service}_AMQP_PASSWORD ${REAL:-1} ${OTHER}"\n')
    assert check_env.variables_compose_reads(compose) == {"REAL", "OTHER"}
