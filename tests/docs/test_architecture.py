"""docs/architecture.md's generated tables are the ones the code defines: settings, lifecycle, messages,
queues and routes (`make docs` writes them)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_architectures_generated_tables_match_the_code():
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "architecture.py"), "--check"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_the_readme_points_to_the_architecture():
    assert "docs/architecture.md" in (ROOT / "README.md").read_text()
