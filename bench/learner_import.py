"""Benchmark (not a test): how long an administrator waits to import N learners from a
spreadsheet, through the real pages: the upload and its preview of every row, then the
confirmation that creates the accounts and enrolments and shows the set-password links.

    .venv/bin/python bench/learner_import.py [--rows 5000] [--database-url URL]

By default it runs on a throwaway SQLite file; pass a PostgreSQL URL (an empty database) to
measure there. Each format (CSV in UTF-8, CSV in cp874 as Thai Excel saves it, XLSX) is imported
into a cohort of its own. The JSON goes to bench/results/learner-import.json.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, revision

PASSWORD = "benchmark password"  # noqa: S105 - a throwaway database


def spreadsheet(kind: str, rows: int, tag: str) -> bytes:
    lines = [["อีเมล", "ชื่อ-นามสกุล", "ชื่อภาษาอังกฤษ", "เมือง", "หน่วยงาน"]] + [
        [
            f"{tag}{n}@bench.example.org",
            f"น้ำฟ้า ปู่ญาติ ศักดิ์ฤๅษี{n}",
            f"Namfa Pooyat {n}",
            "พะเยา" if n % 2 else "เชียงราย",
            "เทศบาลเมือง",
        ]
        for n in range(rows)
    ]
    if kind == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        for line in lines:
            workbook.active.append(line)
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
    text = "\r\n".join(",".join(line) for line in lines) + "\r\n"
    return text.encode("cp874" if kind == "cp874.csv" else "utf-8")


def prepare() -> list[int]:
    """Schema, seed data, an administrator and one empty cohort per format."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from lca.auth.passwords import hash_password
    from lca.core.dates import local_today
    from lca.core.db import db, utcnow
    from lca.models import City, Cohort, Role, User
    from lca.ops.seeding import seed_all

    upgrade()
    seed_all()
    city = db.session.scalar(select(City).where(City.code == "phayao"))
    db.session.add(
        User(
            email="admin@bench.example.org",
            password_hash=hash_password(PASSWORD),
            full_name_th="ผู้ดูแล ทดสอบ",
            role=Role.ADMIN,
            city=city,
            privacy_notice_seen_at=utcnow(),
        )
    )
    start = local_today()
    cohorts = [
        Cohort(
            code=f"CA-BENCH-{n:02}",
            host_city=city,
            starts_on=start,
            ends_on=start + timedelta(days=300),
            field_starts_on=start,
            field_window_months=6,
        )
        for n in range(3)
    ]
    db.session.add_all(cohorts)
    db.session.commit()
    return [cohort.id for cohort in cohorts]


def signed_in_admin() -> str:
    """A session of the benchmark's administrator, past the second step (the token)."""
    from sqlalchemy import select

    from lca.auth.sessions import start_session
    from lca.core.db import db
    from lca.models import User

    admin = db.session.scalar(select(User).where(User.email == "admin@bench.example.org"))
    token = start_session(admin, second_factor="totp")
    db.session.commit()
    return token


def import_once(client, cohort_id: int, name: str, data: bytes, rows: int) -> dict:
    started = time.perf_counter()
    preview = client.post(
        f"/admin/cohorts/{cohort_id}/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    checked = time.perf_counter()
    done = client.post(f"/admin/cohorts/{cohort_id}/import/confirm")
    finished = time.perf_counter()
    page = done.get_data(as_text=True)
    if preview.status_code != 200 or page.count("/set-password/") != rows:
        raise SystemExit(f"{name}: the import did not go through")
    return {
        "preview_seconds": round(checked - started, 2),
        "import_seconds": round(finished - checked, 2),
        "total_seconds": round(finished - started, 2),
        "file_bytes": len(data),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--database-url", help="an empty database; default: throwaway SQLite")
    args = parser.parse_args()
    from lca import create_app

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "LCA_ENV": "testing",
                "SQLALCHEMY_DATABASE_URI": args.database_url or f"sqlite:///{folder}/bench.sqlite3",
                "LCA_DATA_DIR": Path(folder) / "data",
                "WTF_CSRF_ENABLED": False,
            }
        )
        with app.app_context():
            cohort_ids = prepare()
            token = signed_in_admin()
        client = app.test_client()
        with client.session_transaction() as session:  # signed in, past the second step
            session["_user_id"], session["_fresh"] = token, True
        formats = {}
        for cohort_id, kind in zip(cohort_ids, ("utf-8.csv", "cp874.csv", "xlsx"), strict=True):
            data = spreadsheet(kind, args.rows, kind.split(".")[0].replace("-", ""))
            formats[kind] = import_once(client, cohort_id, f"learners.{kind}", data, args.rows)
        backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    result = {
        "rows": args.rows,
        "database": backend,
        "formats": formats,
        "machine": machine(),
        "commit": revision(),
    }
    out = ROOT / "bench" / "results" / "learner-import.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
