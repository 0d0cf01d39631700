"""One request at a time: the best time of each key page on an existing database (profiling aid).

    LCA_ENV=development LCA_DATABASE_URL=sqlite:////tmp/lca-10k.sqlite3 \\
        .venv/bin/python bench/page_time.py [--repeat 15] [--profile PAGE]

The database must hold ``lca synth`` data. Each page is asked for ``--repeat`` times through
Flask's test client (no server, no network) by the person it is for, and the best time is
printed: the cost of the page itself, steady against other load on the machine. With
``--profile PAGE`` (a name from the list below) the requests run under pyinstrument and its
call tree is printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: F401 - puts the repository on sys.path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--profile", help="a page to profile with pyinstrument")
    args = parser.parse_args()

    from sqlalchemy import select

    from lca import create_app
    from lca.auth.sessions import start_session
    from lca.core.db import db
    from lca.models import Certificate, CertificateStatus, Cohort, Enrolment, EnrolmentStatus
    from lca.models.cohorts import cohort_instructors

    app = create_app()
    with app.app_context():
        newest = db.session.scalar(select(Cohort).order_by(Cohort.starts_on.desc()))
        enrolment = db.session.scalar(
            select(Enrolment).where(
                Enrolment.cohort_id == newest.id, Enrolment.status == EnrolmentStatus.ACTIVE
            )
        )
        teacher_id = db.session.scalar(
            select(cohort_instructors.c.instructor_id).where(
                cohort_instructors.c.cohort_id == newest.id
            )
        )
        code = db.session.scalar(
            select(Certificate.code).where(Certificate.status == CertificateStatus.VALID)
        )
        from lca.models import User

        tokens = {
            "learner": start_session(enrolment.learner),
            # a session past the second step, as staff's is after sign-in
            "instructor": start_session(db.session.get(User, teacher_id), second_factor="totp"),
        }
        pages = {
            "healthz": ("/healthz", None),
            "learner-home": ("/learner", "learner"),
            "review-queue": ("/review", "instructor"),
            "cohort-matrix": (f"/cohorts/{newest.id}/progress", "instructor"),
            "verify": (f"/verify/{code}", None),
        }
        db.session.commit()

    for name, (path, who) in pages.items():
        client = app.test_client()
        if who:
            with client.session_transaction() as session:
                session["_user_id"], session["_fresh"] = tokens[who], True
        answer = client.get(path)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}")
        profiler = None
        if name == args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.get(path)
            best = min(best, time.perf_counter() - started)
        print(f"{name:<14} {path:<40} best of {args.repeat}: {best * 1000:6.1f} ms")
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
