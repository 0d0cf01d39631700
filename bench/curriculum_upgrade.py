"""The upgrade to curriculum versions on a large programme: `flask db upgrade` from the last
release, on a copy of its 10,000-learner `lca synth` database, keeps every page's figures.

    .venv/bin/python bench/curriculum_upgrade.py [--learners 10000] [--release f85a682]

1. A checkout of the release (a git worktree in a temporary directory) builds the programme on a
   throwaway PostgreSQL with its own code: `flask db upgrade`, `flask lca seed`,
   `flask lca synth --learners N`; then reads every figure (bench/page_figures.py, run with the
   release's code).
2. The database is copied (CREATE DATABASE … TEMPLATE); this checkout's `flask db upgrade` runs
   on the copy (timed), then `flask lca seed --dry-run` says what the seed would do, and
   bench/page_figures.py reads the figures again with this checkout's code.
3. The two readings are compared page by page. Prints and writes
   bench/results/curriculum-upgrade.json; exits 1 if any page's figures differ.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, revision

from tools.instances import ThrowawayPostgres, flask, free_port, instance_env, python

RESULTS = ROOT / "bench" / "results" / "curriculum-upgrade.json"
FIGURES = ROOT / "bench" / "page_figures.py"


def git(*args: str) -> str:
    return subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", *args],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def timed(step, *args, **kwargs) -> tuple[str, float]:
    started = time.perf_counter()
    output = step(*args, **kwargs)
    return output, round(time.perf_counter() - started, 1)


def differences(before: dict, after: dict) -> list[str]:
    found = [f"{page}: only before the upgrade" for page in before.keys() - after.keys()]
    found += [f"{page}: only after the upgrade" for page in after.keys() - before.keys()]
    for page in sorted(before.keys() & after.keys()):
        if before[page] != after[page]:
            old, new = str(before[page]), str(after[page])
            at = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), 0)
            found.append(
                f"{page}: {old[max(0, at - 60) : at + 60]!r} → {new[max(0, at - 60) : at + 60]!r}"
            )
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--release", default="f85a682", help="the last release's commit")
    args = parser.parse_args()
    release = git("rev-parse", "--short", args.release)
    work = Path(tempfile.mkdtemp(prefix="lca-upgrade-"))
    old_code = work / "release"
    git("worktree", "add", "--detach", str(old_code), release)
    server = None
    try:
        # its Thai catalogue compiled, as `make` does for a checkout
        python(
            {},
            "-m",
            "babel.messages.frontend",
            "compile",
            "-d",
            str(old_code / "lca" / "translations"),
            cwd=old_code,
        )
        server = ThrowawayPostgres().start()
        port = free_port()
        old_url = server.create_database("lca_release")
        # the figures are read from one address, as fast as they come
        old_env = instance_env(
            old_url, work / "data", port, LCA_VERIFY_RATE_LIMIT="1000000 per minute"
        )
        print(f"[release {release}] building {args.learners:,} learners …", flush=True)
        flask(old_env, "db", "upgrade", cwd=old_code)
        flask(old_env, "lca", "seed", cwd=old_code)
        _out, synth_seconds = timed(
            flask,
            old_env,
            "lca",
            "synth",
            "--learners",
            str(args.learners),
            "--allow-production",
            cwd=old_code,
        )
        print(f"[release {release}] lca synth: {synth_seconds} s; reading the figures …")
        old_read = json.loads(
            python(old_env, str(FIGURES), str(work / "before.json"), cwd=old_code)
        )

        new_url = server.create_database("lca_upgraded", template="lca_release")
        new_env = {**old_env, "LCA_DATABASE_URL": new_url}
        from_revision = flask(new_env, "db", "current").split()[0]
        _out, upgrade_seconds = timed(flask, new_env, "db", "upgrade")
        to_revision = flask(new_env, "db", "current").split()[0]
        print(f"[this checkout] flask db upgrade: {upgrade_seconds} s")
        seed_dry_run = flask(new_env, "lca", "seed", "--dry-run")
        print(seed_dry_run.rstrip())
        new_read = json.loads(python(new_env, str(FIGURES), str(work / "after.json")))
        before = json.loads((work / "before.json").read_text())
        after = json.loads((work / "after.json").read_text())
        found = differences(before, after)
        result = {
            "benchmark": "curriculum-upgrade",
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "revision": revision(),
            "release": release,
            "backend": "postgresql",
            "learners": args.learners,
            "enrolments": old_read["enrolments"],
            "cohorts": old_read["cohorts"],
            "synth_seconds_release": synth_seconds,
            "upgrade_seconds": upgrade_seconds,
            "upgrade_revisions": f"{from_revision} → {to_revision}",
            "seed_dry_run": seed_dry_run.strip().splitlines(),
            "pages_compared": len(before),
            "reading_seconds": {"release": old_read["seconds"], "upgraded": new_read["seconds"]},
            "pages_that_differ": found,
        }
    finally:
        if server is not None:
            server.stop()
        git("worktree", "remove", "--force", str(old_code))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
