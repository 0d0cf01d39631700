"""Every figure LCA shows, read through its pages and exports, as JSON: a step of
bench/curriculum_upgrade.py, run once with an earlier release's code and once with this one's
on a copy of the same database.

    LCA_DATABASE_URL=… LCA_DATA_DIR=… LCA_SECRET_KEY=… python bench/page_figures.py OUT.json

It uses the code of the working directory (the bench runs it from the release's checkout) and
only what every release since the second factor has: create_app, start_session and the URLs. A
throwaway administrator reads every export (progress of all cohorts, hour logs, certificates),
every cohort's matrix, its CSV, its report and its progress export, every city's report, the
verification page of every 50th certificate and the home of every 50th learner, each as the
visible text of its figures. What a release added around the figures (the curriculum's name, the
list of versions in a report, a total row) is left out, so that the two readings compare the
figures themselves.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))  # the code under test: the working directory's

ADDED_AROUND_FIGURES = [
    re.compile(r'<p class="curriculum-version">.*?</p>', re.S),
    re.compile(r'<section [^>]*class="[^"]*report-versions[^"]*".*?</section>', re.S),
    re.compile(r'<th scope="col">(?:หลักสูตร|Curriculum)</th>'),
    re.compile(r'<td data-label="(?:หลักสูตร|Curriculum)">.*?</td>', re.S),
    re.compile(r"<tfoot>.*?</tfoot>", re.S),
    re.compile(r"<(script|style)\b.*?</\1>", re.S),
    re.compile(r"<dt>(?:หลักสูตร|Curriculum)</dt>\s*<dd>.*?</dd>", re.S),
]


def visible(html: str) -> str:
    for pattern in ADDED_AROUND_FIGURES:
        html = pattern.sub(" ", html)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def table(body: bytes, drop_curriculum: bool) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(body.decode("utf-8").lstrip("\ufeff"))))
    if drop_curriculum and rows and len(rows[0]) > 1 and rows[0][1] in ("หลักสูตร", "Curriculum"):
        rows = [row[:1] + row[2:] for row in rows]
    return rows


def main() -> int:
    out = Path(sys.argv[1])
    from sqlalchemy import func, select

    from lca import create_app
    from lca.auth.passwords import hash_password
    from lca.auth.sessions import start_session
    from lca.core.db import db, utcnow
    from lca.models import Certificate, Cohort, Enrolment, Role, User

    app = create_app()
    with app.app_context():
        admin = User(
            email=f"figures-{secrets.token_hex(4)}@example.org",
            password_hash=hash_password(secrets.token_urlsafe(16)),
            full_name_th="ผู้อ่านตัวเลข",
            role=Role.ADMIN,
            privacy_notice_seen_at=utcnow(),
        )
        db.session.add(admin)
        db.session.flush()
        admin_token = start_session(admin, second_factor="totp")
        cohorts = list(db.session.scalars(select(Cohort.id).order_by(Cohort.id)))
        cities = list(db.session.scalars(select(Cohort.host_city_id).distinct()))
        codes = list(db.session.scalars(select(Certificate.code).order_by(Certificate.id)))[::50]
        learners = list(
            db.session.scalars(
                select(Enrolment.learner_id).distinct().order_by(Enrolment.learner_id)
            )
        )[::50]
        learner_tokens = {}
        for learner_id in learners:
            learner = db.session.get(User, learner_id)
            learner.privacy_notice_seen_at = learner.privacy_notice_seen_at or utcnow()
            learner_tokens[learner_id] = start_session(learner)
        enrolments = db.session.scalar(select(func.count()).select_from(Enrolment))
        db.session.commit()

    client = app.test_client()
    figures: dict[str, object] = {}

    def sign_in(token: str) -> None:
        with client.session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
            session["reauth_at"] = int(time.time())

    def read(url: str, key: str | None = None) -> None:
        with app.app_context():
            response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        if response.mimetype == "text/csv":
            figures[key or url] = table(response.data, drop_curriculum=True)
        else:
            figures[key or url] = visible(response.get_data(as_text=True))

    started = time.perf_counter()
    sign_in(admin_token)
    for kind in ("progress", "hour-logs", "certificates"):
        read(f"/admin/exports/{kind}.csv")
    for cohort_id in cohorts:
        read(f"/cohorts/{cohort_id}/progress")
        read(f"/cohorts/{cohort_id}/progress.csv")
        read(f"/reports/cohorts/{cohort_id}")
        read(f"/admin/exports/progress-{cohort_id}.csv")
    for city_id in sorted(cities):
        read(f"/reports/cities/{city_id}")
    for code in codes:
        read(f"/verify/{code}")
    for learner_id, token in learner_tokens.items():
        sign_in(token)
        read("/learner", key=f"/learner as {learner_id}")
    out.write_text(json.dumps(figures, ensure_ascii=False, sort_keys=True))
    print(
        json.dumps(
            {
                "pages": len(figures),
                "cohorts": len(cohorts),
                "enrolments": enrolments,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
