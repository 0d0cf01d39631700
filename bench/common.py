"""What the benchmark scripts share besides the throwaway instances of tools/instances.py: the
repository on sys.path, the machine's description, the commit under test and the database a
benchmark runs on."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{platform.machine()} {model}, {os.cpu_count()} CPUs{memory}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def revision() -> str:
    """The commit under test, marked when the working tree has changes."""

    def git(*args: str) -> str:
        result = subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *args],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.strip()

    # what the benchmarks write themselves does not make the code under test another one
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results")
    return git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else "")


@contextmanager
def benchmark_database(
    backend: str, database: str | None, folder: Path, name: str
) -> Iterator[str]:
    """The URL of the database a benchmark runs on: ``database`` as given, else a SQLite file in
    ``folder``, or a database ``name`` on a throwaway PostgreSQL server, stopped afterwards."""
    from tools.instances import ThrowawayPostgres

    if database:
        yield database
    elif backend == "postgresql":
        server = ThrowawayPostgres().start()
        try:
            yield server.create_database(name)
        finally:
            server.stop()
    else:
        yield f"sqlite:///{folder / 'lca.sqlite3'}"


def benchmark_admin(email: str, name_th: str):
    """An administrator for a benchmark (``lca synth`` makes learners and instructors only),
    added to the session: past the second step (the published demo key) and past the privacy
    notice, as staff are long after their first sign-in."""
    from datetime import UTC, datetime

    from lca.auth.services import UNUSABLE_PASSWORD
    from lca.core.db import db
    from lca.models import Role, User
    from lca.ops.demo import DEMO_TOTP_SECRET

    admin = User(
        email=email,
        full_name_th=name_th,
        role=Role.ADMIN,
        password_hash=UNUSABLE_PASSWORD,
        totp_secret=DEMO_TOTP_SECRET,
        totp_confirmed_at=datetime.now(UTC),
        privacy_notice_seen_at=datetime.now(UTC),
    )
    db.session.add(admin)
    return admin
