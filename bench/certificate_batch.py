"""Benchmark (not a test): certificates per second when a cohort of N eligible learners is
issued at once, against the floor of a bare fpdf2 script drawing the same page in the same font.

    .venv/bin/python bench/certificate_batch.py [--learners 200]

It builds a throwaway SQLite database, issues every certificate through the real service
(serial, snapshot, the PDF/A page and its PAdES signature, the credential's Data Integrity
proof and JWT, its random place in the status list, storage, audit, one commit each) and prints
the figures; the JSON goes to bench/results/certificate-batch.json.
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


def build(app, learners: int):
    """A cohort of ``learners`` eligible learners, inserted in bulk."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from lca.auth.passwords import hash_password
    from lca.certificates.keys import generate_keys
    from lca.core.dates import local_today
    from lca.core.db import db
    from lca.curriculum.services import current_version
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
    from lca.ops.seeding import seed_all

    upgrade()
    seed_all()
    generate_keys()
    city = db.session.scalar(select(City).where(City.code == "phayao"))
    version = current_version()  # the curriculum in force, as a new cohort follows it
    start = local_today() - timedelta(days=200)
    cohort = Cohort(
        code="CA-BENCH-01",
        host_city=city,
        curriculum_version=version,
        starts_on=start,
        ends_on=start + timedelta(days=300),
        field_starts_on=start,
        field_window_months=6,
    )
    db.session.add(cohort)
    modules = list(
        db.session.scalars(
            select(Module).where(Module.version_id == version.id).order_by(Module.number)
        )
    )
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


def issue_interleaved(cohort, calls: list[tuple]) -> tuple[int, float, float]:
    """Issue the cohort's certificates through the real service, committing each, and after
    each one draw a floor page: both take turns on the machine, so other load on it weighs on
    both alike. Returns (certificates, seconds of LCA, seconds of the floor)."""
    from lca.certificates.services import issue_for_cohort
    from lca.core.db import db
    from lca.models import CertificateLanguage

    floor = FloorPage(calls)
    issued, lca_seconds, floor_seconds = 0, 0.0, 0.0
    batch = issue_for_cohort(cohort, None, CertificateLanguage.BOTH)
    while True:
        started = time.perf_counter()
        try:
            _enrolment, _certificate, refusal = next(batch)
        except StopIteration:
            lca_seconds += time.perf_counter() - started
            break
        if refusal:
            raise SystemExit(f"refused: {refusal}")
        db.session.commit()
        lca_seconds += time.perf_counter() - started
        started = time.perf_counter()
        floor.draw(issued)
        floor_seconds += time.perf_counter() - started
        issued += 1
    return issued, lca_seconds, floor_seconds


DRAWING = ("add_page", "rect", "line", "set_draw_color", "set_line_width", "set_font",
           "set_text_color", "set_xy", "set_x", "set_y", "cell", "image", "ln")  # fmt: skip


def record_page(snapshot: dict) -> list[tuple]:
    """The fpdf2 calls that draw LCA's certificate page for ``snapshot``, in order (recorded
    once, outside the timing): the floor replays them, so it draws the very same page."""
    from fpdf import FPDF

    from lca.certificates.pdf import CertificateRenderer

    calls: list[tuple] = []

    class Recorder(FPDF):
        depth = 0

    def recording(name):
        method = getattr(FPDF, name)

        def record(self, *args, **kwargs):
            if self.depth == 0:
                kept = [a.getvalue() if isinstance(a, io.BytesIO) else a for a in args]
                calls.append((name, kept, kwargs))
            self.depth += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                self.depth -= 1

        return record

    for name in DRAWING:
        setattr(Recorder, name, recording(name))
    renderer = CertificateRenderer()
    pdf = Recorder(orientation="L", unit="mm", format="A4")
    pdf.set_text_shaping(True)
    for style, path in renderer.fonts.items():
        FPDF.add_font(pdf, "Sarabun", style, path)
    pdf.set_auto_page_break(False)
    pdf.set_margins(22, 22, 22)
    renderer.draw(pdf, snapshot)
    return calls


class FloorPage:
    """The floor: a bare fpdf2 script drawing the same page (the recorded calls: same fonts,
    texts, places, images), one document per certificate with a QR code of its own, as the
    service must produce. What it leaves out is LCA's own work: the database, the snapshot,
    serial numbers, storage, the audit trail, line breaking and the ActualText marks."""

    def __init__(self, calls: list[tuple]):
        import fontpkg

        self.calls = calls
        self.fonts = {"": fontpkg.path("Sarabun", 400), "B": fontpkg.path("Sarabun", 700)}

    def draw(self, n: int) -> bytes:
        import segno
        from fpdf import FPDF

        pdf = FPDF(orientation="L", unit="mm", format="A4")
        pdf.set_text_shaping(True)
        for style, path in self.fonts.items():
            pdf.add_font("Sarabun", style, str(path))
        pdf.set_auto_page_break(False)
        pdf.set_margins(22, 22, 22)
        for name, args, kwargs in self.calls:
            if name == "image" and isinstance(args[0], bytes) and args[0].lstrip().startswith(b"<"):
                svg = io.BytesIO()  # the QR code: made anew for each certificate
                segno.make(f"https://lca.example.org/verify/{n:032d}", error="m").save(
                    svg, kind="svg", omitsize=True, border=0, dark="black"
                )
                svg.seek(0)
                args = [svg, *args[1:]]
            elif name == "image" and isinstance(args[0], bytes):
                args = [io.BytesIO(args[0]), *args[1:]]
            getattr(pdf, name)(*args, **kwargs)
        return bytes(pdf.output())


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
            from sqlalchemy import select

            from lca.certificates.services import issue_for_cohort
            from lca.core.db import db
            from lca.models import Certificate, CertificateLanguage, User

            cohort = build(app, args.learners + 1)
            # One certificate first, untimed: it loads what a running server has loaded
            # already (PyThaiNLP's dictionary, about 1.4 s) and gives the page the floor draws.
            first = db.session.scalar(select(User.email).order_by(User.id).limit(1))
            for _enrolment, _certificate, refusal in issue_for_cohort(
                cohort, None, CertificateLanguage.BOTH, emails={first}
            ):
                if refusal:
                    raise SystemExit(f"refused: {refusal}")
            db.session.commit()
            snapshot = db.session.scalars(select(Certificate).order_by(Certificate.id)).first()
            calls = record_page(snapshot.snapshot)
            FloorPage(calls).draw(0)  # and the floor's first page, untimed too
            issued, seconds, floor = issue_interleaved(cohort, calls)
    result = {
        "certificates": issued,
        "seconds": round(seconds, 2),
        "certificates_per_second": round(issued / seconds, 1),
        "bare_fpdf2_seconds": round(floor, 2),
        "bare_fpdf2_pages_per_second": round(issued / floor, 1),
        "ratio_to_floor": round(seconds / floor, 2),
        "drawing_calls_per_page": len(calls),
        "machine": machine(),
        "commit": revision(),
    }
    out = ROOT / "bench" / "results" / "certificate-batch.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
