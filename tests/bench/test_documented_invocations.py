"""Every option that bench/README.md or a benchmark script's own docstring shows is one the script takes."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py"))
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def documented_options(script: str) -> set[str]:
    """The options shown in the script's docstring, in its README section, and beside its path in the README."""
    shown = set(OPTION.findall(ast.get_docstring(ast.parse((BENCH / script).read_text())) or ""))
    readme = (BENCH / "README.md").read_text()
    for section in re.split(r"^## ", readme, flags=re.MULTILINE):
        if section.startswith(f"`{script}`"):
            shown |= set(OPTION.findall(section))
    for line in readme.splitlines():
        if f"bench/{script}" in line:
            shown |= set(OPTION.findall(line.split("#")[0]))
    return shown


def test_the_readme_has_a_section_for_every_script():
    readme = (BENCH / "README.md").read_text()
    assert [s for s in SCRIPTS if f"## `{s}`" not in readme] == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_option_documented_for_a_benchmark_script_is_one_it_takes(script):
    # run as a user runs it, so that the script finds its own modules from any folder
    shown = subprocess.run([sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True, timeout=60, cwd="/")
    assert shown.returncode == 0, shown.stderr
    assert documented_options(script) - set(OPTION.findall(shown.stdout)) == set()
