"""Benchmark (not a test): certificates per second when a cohort of N eligible learners is
issued at once, against the floor of a bare fpdf2 script drawing the same page in the same font.

    .venv/bin/python bench/certificate_batch.py [--learners 200]

It builds a throwaway SQLite database, issues every certificate through the real service
(serial, snapshot, PDF, storage, audit, one commit each) and prints the figures; the JSON goes
to bench/results/certificate-batch.json.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(app, learners: int):
    """A cohort of ``learners`` eligible learners, inserted in bulk."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from lca.auth.passwords import hash_password
    from lca.certificates.credential import generate_key
    from lca.dates import local_today
    from lca.extensions import db
    from lca.models import (
        City,
        Cohort,
        Enrolment,
        FieldReport,
        HourLog,
        LogStatus,
        Module,
        ReportStatus,
        Role,
        User,
    )
    from lca.seeding import seed_all

    upgrade()
    seed_all()
    generate_key()
    city = db.session.scalar(select(City).where(City.code == "phayao"))
    start = local_today() - timedelta(days=200)
    cohort = Cohort(
        code="CA-BENCH-01",
        host_city=city,
        starts_on=start,
        ends_on=start + timedelta(days=300),
        field_starts_on=start,
        field_window_months=6,
    )
    db.session.add(cohort)
    modules = list(db.session.scalars(select(Module).order_by(Module.number)))
    secret = hash_password("benchmark password")
    for n in range(learners):
        learner = User(
            email=f"learner{n}@bench.example.org",
            password_hash=secret,
            full_name_th=f"นางสาวน้ำฟ้า ปู่ญาติ ศักดิ์ฤๅษี {n}",
            full_name_en=f"Namfa Pooyat {n}",
            role=Role.LEARNER,
            city=city,
        )
        enrolment = Enrolment(cohort=cohort, learner=learner)
        day = start + timedelta(days=10)
        db.session.add_all([learner, enrolment])
        db.session.add_all(
            HourLog(
                enrolment=enrolment,
                module=m,
                worked_on=day,
                minutes=m.hours * 60,
                status=LogStatus.APPROVED,
                description="bench",
                tools=[],
            )
            for m in modules
        )
        db.session.add(
            FieldReport(enrolment=enrolment, summary="bench", status=ReportStatus.PASSED)
        )
    db.session.commit()
    return cohort


def issue_all(cohort) -> tuple[int, float]:
    from lca.certificates.services import issue_for_cohort
    from lca.extensions import db
    from lca.models import CertificateLanguage

    started, issued = time.perf_counter(), 0
    for _enrolment, _certificate, refusal in issue_for_cohort(
        cohort, None, CertificateLanguage.BOTH
    ):
        if refusal:
            raise SystemExit(f"refused: {refusal}")
        db.session.commit()
        issued += 1
    return issued, time.perf_counter() - started


def bare_fpdf2(pages: int) -> float:
    """The floor: the same page (same font, texts, QR) drawn by a bare fpdf2 script, one
    document per certificate, as the service must produce."""
    import fontpkg
    import segno
    from fpdf import FPDF

    fonts = {"": fontpkg.path("Sarabun", 400), "B": fontpkg.path("Sarabun", 700)}
    lines = [
        ("", 11, "มหาวิทยาลัยพะเยา · กองทุนเพื่อความเสมอภาคทางการศึกษา (กสศ.)"),
        ("B", 34, "วุฒิบัตร"),
        ("B", 20, "Certificate of Completion"),
        ("", 15, "ให้ไว้เพื่อแสดงว่า"),
        ("B", 26, "นางสาวน้ำฟ้า ปู่ญาติ ศักดิ์ฤๅษี"),
        ("", 12, "This is to certify that"),
        ("B", 16, "Namfa Pooyat"),
        ("", 15, "ได้ผ่านการอบรมหลักสูตรนักจัดการเมืองแห่งการเรียนรู้ จำนวน 45 ชั่วโมง"),
        ("", 14, "ให้ไว้ ณ วันที่ 22 พฤศจิกายน 2569"),
        ("", 11, "Given on 22 November 2026"),
    ]
    started = time.perf_counter()
    for n in range(pages):
        pdf = FPDF(orientation="L", format="A4")
        pdf.set_text_shaping(True)
        for style, path in fonts.items():
            pdf.add_font("Sarabun", style, str(path))
        pdf.add_page()
        for style, size, text in lines:
            pdf.set_font("Sarabun", style, size)
            pdf.cell(0, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        svg = io.BytesIO()
        segno.make(f"https://lca.example.org/verify/{n:032d}", error="m").save(
            svg, kind="svg", omitsize=True, border=0
        )
        svg.seek(0)
        pdf.image(svg, x=250, y=160, w=24, h=24)
        pdf.output()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=200)
    args = parser.parse_args()
    from lca import create_app

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "LCA_ENV": "testing",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
                "LCA_DATA_DIR": Path(folder) / "data",
            }
        )
        with app.app_context():
            cohort = build(app, args.learners)
            issued, seconds = issue_all(cohort)
    floor = bare_fpdf2(args.learners)
    result = {
        "certificates": issued,
        "seconds": round(seconds, 2),
        "certificates_per_second": round(issued / seconds, 1),
        "bare_fpdf2_seconds": round(floor, 2),
        "bare_fpdf2_pages_per_second": round(args.learners / floor, 1),
        "ratio_to_floor": round(seconds / floor, 2),
        "machine": f"{platform.machine()} {platform.processor() or ''} "
        f"Python {platform.python_version()}".strip(),
    }
    out = ROOT / "bench" / "results" / "certificate-batch.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
