#!/usr/bin/env python
"""The services' CPU per invite of this checkout against another revision's, runs taken in turn.

    .venv/bin/python bench/versus.py --base d41e924                       # 3 pairs, paced 15/s for 20 s on PostgreSQL
    .venv/bin/python bench/versus.py --base d41e924 --pairs 5 -- --db sqlite --rate 25 --seconds 30

The machine's speed drifts by a fifth within an hour, so two versions are compared in runs taken in turn
(base, this, this, base, base, this, ...: each version goes first in every other pair), never in runs an
hour apart. The base revision is checked out in a temporary git worktree; each run is `bench/pipeline.py
--phases latency` of its own tree, the services imported from that tree's sources (PYTHONPATH, ahead of
this venv's editable installs) with this venv's packages. Prints each pair's paced services' CPU per invite
(intake + approval + notifier, from /proc) and their ratio this / base, then the median ratio. Arguments
after `--` go to both pipeline runs (default: `--db postgresql --rate 15 --seconds 20`). Exits 1 when a run
broke; the ratio itself is reported, not judged, unless `--within` (a fraction, e.g. 0.05) is given: then
it exits 1 when the median ratio exceeds 1 + within.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("libs/common/src", "services/intake/src", "services/approval/src", "services/notifier/src")
DEFAULT_PIPELINE_ARGS = ["--db", "postgresql", "--rate", "15", "--seconds", "20"]


def run_pipeline(tree: Path, extra: list[str], out: Path) -> dict[str, float]:
    """One paced run of `tree`'s pipeline bench; its services' CPU ms per invite per database."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(tree / s) for s in SOURCES) + os.pathsep + str(tree))
    command = [sys.executable, str(tree / "bench" / "pipeline.py"), "--phases", "latency", *extra, "--json", str(out)]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"{tree}: the run broke ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return {r["db"]: (r["paced_services_cpu_ms"], _each_service(r)) for r in json.loads(out.read_text())["runs"]}


def _each_service(run: dict) -> dict[str, float]:
    """Each service's share of the services' CPU ms per invite (a second process of a worker counted with it)."""
    cpu = run.get("paced_cpu_seconds") or {}
    services = {}
    for process, seconds in cpu.items():
        name = process.split("-")[0]
        if name in ("intake", "approval", "notifier"):
            services[name] = services.get(name, 0.0) + seconds
    total = sum(services.values())
    return {name: run["paced_services_cpu_ms"] * seconds / total for name, seconds in services.items()} if total else {}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else DEFAULT_PIPELINE_ARGS
    own = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=f"Arguments after -- go to each tree's bench/pipeline.py --phases latency (default: "
               f"{' '.join(DEFAULT_PIPELINE_ARGS)}), e.g. -- --db sqlite --rate 25 --seconds 30.")
    parser.add_argument("--base", default=os.environ.get("BENCH_BASE"),
                        help="the revision to compare against (a commit or branch; or BENCH_BASE)")
    parser.add_argument("--pairs", type=int, default=3, help="runs of each version, taken in turn (default 3)")
    parser.add_argument("--within", type=float, help="exit 1 when this / base exceeds 1 + WITHIN (e.g. 0.05)")
    args = parser.parse_args(own)
    if not args.base:
        print("nothing to compare: give --base REV (or BENCH_BASE), e.g. make bench-versus BASE=d41e924")
        return 0
    base_rev = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    head_rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="invites-versus-") as tmp:
        base_tree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), base_rev], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            ratios: dict[str, list[float]] = {}
            print(f"services' CPU ms per invite, paced (pipeline.py --phases latency {' '.join(extra)}); "
                  f"this = {head_rev}{' + uncommitted changes' if _dirty() else ''}, base = {base_rev}")
            for pair in range(args.pairs):
                order = [("base", base_tree), ("this", ROOT)]
                if pair % 2:
                    order.reverse()
                found = {}
                for name, tree in order:
                    found[name] = run_pipeline(tree, extra, Path(tmp) / f"{name}-{pair}.json")
                for db, (base_ms, base_each) in found["base"].items():
                    this_ms, this_each = found["this"][db]
                    ratio = this_ms / base_ms
                    ratios.setdefault(db, []).append(ratio)
                    each = ", ".join(f"{name} {base_each[name]:.1f} -> {this_each.get(name, 0):.1f}" for name in base_each)
                    print(f"  pair {pair + 1} ({' then '.join(n for n, _ in order)}), {db}: base {base_ms:.2f} ms, "
                          f"this {this_ms:.2f} ms, this / base {ratio:.3f} ({each})", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, capture_output=True)
    worse = False
    for db, found_ratios in ratios.items():
        median = statistics.median(found_ratios)
        print(f"{db}: this / base median {median:.3f} (min {min(found_ratios):.3f}, max {max(found_ratios):.3f}, "
              f"{len(found_ratios)} pairs)")
        worse |= args.within is not None and median > 1 + args.within
    return 1 if worse else 0


def _dirty() -> bool:
    return bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    sys.exit(main())
