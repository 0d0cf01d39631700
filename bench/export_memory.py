"""Peak memory of the export of every learner's progress (a step of bench/load.py).

    LCA_DATABASE_URL=… LCA_DATA_DIR=… LCA_SECRET_KEY=… .venv/bin/python bench/export_memory.py csv

In this process: the app as configured by the environment, a throwaway administrator signed in,
then ``GET /admin/exports/progress.<csv|xlsx>`` read chunk by chunk as a browser would. Prints
JSON: the learners exported, the bytes, the seconds, the resident memory before the request
(after a warm-up export of one cohort), the peak resident memory during it (VmHWM, reset before
the request) and their difference, the memory the export itself took.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: F401 - puts the repository on sys.path


def memory_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> int:
    kind = sys.argv[1] if len(sys.argv) > 1 else "csv"
    from sqlalchemy import func, select

    from lca import create_app
    from lca.auth.passwords import hash_password
    from lca.auth.sessions import start_session
    from lca.core.db import db, utcnow
    from lca.models import Enrolment, Role, User

    app = create_app()
    with app.app_context():
        admin = User(
            email=f"bench-{secrets.token_hex(4)}@example.org",
            password_hash=hash_password(secrets.token_urlsafe(16)),
            full_name_th="ผู้ดูแลทดสอบ",
            role=Role.ADMIN,
            privacy_notice_seen_at=utcnow(),
        )
        db.session.add(admin)
        db.session.flush()
        token = start_session(admin, second_factor="totp")  # past the second step
        learners = db.session.scalar(select(func.count()).select_from(Enrolment))
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    # Warm up: the first request loads templates, translations and the export code; then the
    # peak is reset (Linux: "5" to clear_refs), so that what follows is the export's own.
    with app.app_context():
        first = db.session.scalar(select(func.min(Enrolment.cohort_id)))
    client.get(f"/admin/exports/progress-{first}.{kind}").close()
    process_peak_at_start = memory_mb("VmHWM")
    Path("/proc/self/clear_refs").write_text("5")
    before = memory_mb("VmRSS")
    started = time.perf_counter()
    response = client.get(f"/admin/exports/progress.{kind}", buffered=False)
    if response.status_code != 200:
        raise SystemExit(f"the export answered {response.status_code}")
    size = 0
    for chunk in response.response:
        size += len(chunk)
    response.close()
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "kind": kind,
                "learners": learners,
                "bytes": size,
                "seconds": round(seconds, 1),
                "process_peak_before_mb": process_peak_at_start,
                "rss_before_mb": before,
                "peak_rss_mb": memory_mb("VmHWM"),
                "export_peak_mb": round(memory_mb("VmHWM") - before, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
