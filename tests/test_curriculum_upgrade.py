"""The upgrade to curriculum versions (migration 0016) keeps every figure: a database of the
schema before it (0015), holding a synthetic programme, is upgraded, and every page and export
that shows hours, eligibility or certificates reads the same as before; every cohort follows
version 1, made from the data that was there. bench/curriculum_upgrade.py does the same from the
last release's code on 10,000 learners."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select

from lca import create_app
from lca.core.db import db
from lca.models import Certificate, City, Cohort, CurriculumVersion, Enrolment, Module, User
from lca.ops.seeding import seed_all
from lca.ops.synth import build_synthetic
from tests.conftest import IsolatedClient
from tests.factories import AdminFactory

LEARNERS = 120  # three cohorts of the synthetic programme


@pytest.fixture
def programme(new_database, tmp_path):
    """An app on its own database (commits are real), migrated, seeded and holding a synthetic
    programme."""
    app = create_app(
        {
            "LCA_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": new_database("lca_upgrade"),
            "LCA_DATA_DIR": tmp_path,
        }
    )
    with app.app_context():
        upgrade()
        seed_all()
        build_synthetic(LEARNERS, seed=7)
        AdminFactory()
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def _visible_text(html: str, version_names: list[str]) -> str:
    """What a reader sees: the text without tags, the curriculum's name as a placeholder (the
    migration names version 1 from the data; the seed named it from its file)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    for name in version_names:
        text = text.replace(name, "«curriculum»")
    return " ".join(text.split())


def _figures(app, login_on) -> dict[str, str]:
    """Every page and export with a figure, as its administrator, learners and instructors read
    it: the exports, every cohort's matrix, report and certificates page, every city's report,
    a few learners' homes and the public verification pages."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    names = [
        name
        for version in db.session.scalars(select(CurriculumVersion))
        for name in (version.name_th, version.name_en)
    ]
    admin = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    login_on(client, admin)
    db.session.commit()
    pages: dict[str, str] = {}

    def read(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, url
        if response.mimetype == "text/csv":
            rows = list(csv.reader(io.StringIO(response.data.decode("utf-8").lstrip("\ufeff"))))
            pages[url] = _visible_text(repr(rows), names)
        else:
            pages[url] = _visible_text(response.get_data(as_text=True), names)

    for kind in ("progress", "hour-logs", "certificates"):
        read(f"/admin/exports/{kind}.csv")
    cohorts = db.session.scalars(select(Cohort).order_by(Cohort.id)).all()
    for cohort in cohorts:
        read(f"/cohorts/{cohort.id}/progress")
        read(f"/cohorts/{cohort.id}/progress.csv")
        read(f"/reports/cohorts/{cohort.id}")
        read(f"/admin/exports/progress-{cohort.id}.csv")
    for city_id in db.session.scalars(
        select(City.id).where(City.id.in_(select(Cohort.host_city_id))).order_by(City.id)
    ):
        read(f"/reports/cities/{city_id}")
    for code in db.session.scalars(select(Certificate.code).order_by(Certificate.id).limit(5)):
        read(f"/verify/{code}")
    learners = db.session.scalars(
        select(User)
        .join(Enrolment, Enrolment.learner_id == User.id)
        .where(User.role == "learner")
        .order_by(User.id)
        .limit(6)
    ).all()
    for learner in learners:
        login_on(client, learner)
        db.session.commit()
        read("/learner")
        pages[f"/learner as {learner.id}"] = pages.pop("/learner")
    read("/curriculum")
    # the date version 1 took effect: the seed's day before, the first cohort's start after
    pages["/curriculum"] = re.sub(r"ใช้ตั้งแต่ \d+ \S+ \d{4}", "", pages["/curriculum"])
    return pages


def test_the_upgrade_from_the_schema_before_versions_keeps_every_figure(programme, login_on):
    app = programme
    before = _figures(app, login_on)
    modules = db.session.execute(
        select(Module.id, Module.number, Module.hours).order_by(Module.id)
    ).all()
    counts = {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Cohort, Enrolment, Certificate, Module)
    }
    db.session.remove()

    downgrade(revision="0015")  # the schema of the last release, its rows
    assert "curriculum_versions" not in inspect(db.engine).get_table_names()
    db.engine.dispose()
    upgrade()

    # every row kept; one version made from them, followed by every cohort
    versions = db.session.scalars(select(CurriculumVersion)).all()
    assert len(versions) == 1
    first = versions[0]
    assert first.number == 1
    first_start = db.session.scalar(select(func.min(Cohort.starts_on)))
    assert first.name_th == f"CA 45 ชั่วโมง, {first_start.year + 543}"
    assert first.name_en == f"CA 45 hours, {first_start.year}"
    assert set(db.session.scalars(select(Cohort.curriculum_version_id))) == {first.id}
    assert (
        db.session.execute(select(Module.id, Module.number, Module.hours).order_by(Module.id)).all()
        == modules
    )
    assert set(db.session.scalars(select(Module.version_id))) == {first.id}
    assert counts == {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Cohort, Enrolment, Certificate, Module)
    }

    after = _figures(app, login_on)
    assert after.keys() == before.keys()
    for url, text in before.items():
        assert after[url] == text, url
    # the figures are there to compare: hours, eligibility and certificates, not empty pages
    assert "45" in before["/curriculum"]
    assert len(before) > 20
