"""The certificate states what happened: the period it shows (PDF, verify page, credential)
ends on the day the learner completed the last requirement, or the cohort's end if that came
first, as it was at issue; and a re-issue that would change nothing is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from lca.certificates.keys import generate_keys
from lca.core.dates import format_day, local_today
from lca.core.db import db
from lca.models import Certificate, FieldReport, HourLog, LogStatus, SerialCounter
from tests.factories import (
    CohortFactory,
    GradeFactory,
    HourLogFactory,
    count_rows,
    eligible_enrolment,
    module,
)

BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.fixture(autouse=True)
def signing_key(app):
    with app.app_context():
        generate_keys()


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BANGKOK)


def _approve_on(enrolment, days: dict[int, datetime]) -> None:
    """Each module's approved log was approved at the given moment."""
    for log in db.session.scalars(select(HourLog).where(HourLog.enrolment_id == enrolment.id)):
        if log.status is LogStatus.APPROVED:
            log.reviewed_at = days[log.module.number]
    db.session.flush()


def _pass_on(enrolment, moment: datetime) -> None:
    """The field report passed with a grade given at ``moment``."""
    report = db.session.scalar(select(FieldReport).where(FieldReport.enrolment_id == enrolment.id))
    GradeFactory(field_report=report, graded_at=moment)


def _cohort(starts_on: date, ends_on: date):
    return CohortFactory(starts_on=starts_on, ends_on=ends_on)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_certificate_issued_mid_cohort_ends_on_the_day_the_learner_completed(
    client, admin, db, tmp_path, pdf_text
):
    today = local_today()
    cohort = CohortFactory(
        starts_on=today - timedelta(days=60), ends_on=today + timedelta(days=180)
    )
    enrolment = eligible_enrolment(cohort=cohort)
    start = cohort.starts_on
    approvals = {n: _at(start + timedelta(days=20 + n)) for n in range(1, 8)}
    # The last module reached its hours late in the evening UTC: already the next day in
    # Bangkok, where the programme's days are counted.
    last_day = start + timedelta(days=40)
    approvals[6] = datetime.combine(last_day - timedelta(days=1), time(20), tzinfo=UTC)
    _approve_on(enrolment, approvals)
    # Hours approved after a module was complete do not move the day it was completed.
    HourLogFactory(
        enrolment=enrolment,
        module=module(1),
        minutes=120,
        status=LogStatus.APPROVED,
        worked_on=start + timedelta(days=50),
        reviewed_at=_at(start + timedelta(days=55)),
    )
    _pass_on(enrolment, _at(start + timedelta(days=35)))

    client.post(f"/enrolments/{enrolment.id}/certificate", data={"language": "both"})
    certificate = db.session.scalar(select(Certificate))
    assert certificate.snapshot["activity_ended_on"] == last_day.isoformat()
    assert certificate.period == (cohort.starts_on, last_day)

    text = _flat(pdf_text(client.get(f"/certificates/{certificate.id}/pdf").data, tmp_path))
    thai_start, thai_end = format_day(start, language="th"), format_day(last_day, language="th")
    assert f"ระหว่างวันที่ {thai_start} ถึง {thai_end}" in text
    assert f"{format_day(start, language='en')} to {format_day(last_day, language='en')}." in text
    assert format_day(cohort.ends_on, language="th") not in text

    page = _flat(client.get(f"/verify/{certificate.code}").get_data(as_text=True))
    assert f"ตั้งแต่ {thai_start} ถึง {thai_end}" in page
    english = _flat(
        client.get(f"/verify/{certificate.code}?lang=en", follow_redirects=True).get_data(
            as_text=True
        )
    )
    assert f"{format_day(start, language='en')} to {format_day(last_day, language='en')}" in english

    credential = client.get(f"/verify/{certificate.code}/credential.json").get_json()
    subject = credential["credentialSubject"]
    assert subject["activityEndDate"] == f"{last_day.isoformat()}T00:00:00Z"
    assert subject["activityStartDate"] == f"{start.isoformat()}T00:00:00Z"


def test_the_field_assessment_passed_last_ends_the_period(client, admin, db):
    today = local_today()
    cohort = CohortFactory(
        starts_on=today - timedelta(days=60), ends_on=today + timedelta(days=180)
    )
    enrolment = eligible_enrolment(cohort=cohort)
    _approve_on(enrolment, {n: _at(cohort.starts_on + timedelta(days=20)) for n in range(1, 8)})
    passed = cohort.starts_on + timedelta(days=45)
    _pass_on(enrolment, _at(passed))
    client.post(f"/enrolments/{enrolment.id}/certificate", data={"language": "th"})
    certificate = db.session.scalar(select(Certificate))
    assert certificate.period[1] == passed
    # What it states is kept as it was at issue, whatever the cohort's dates become.
    cohort.ends_on, cohort.starts_on = today + timedelta(days=10), today - timedelta(days=70)
    db.session.commit()
    assert certificate.period == (today - timedelta(days=60), passed)
    credential = client.get(f"/verify/{certificate.code}/credential.json").get_json()
    assert credential["credentialSubject"]["activityEndDate"].startswith(passed.isoformat())

    # A learner who finished after the cohort (and their field window) had ended: the period
    # ends with the cohort.
    late = _cohort(today - timedelta(days=300), today - timedelta(days=60))
    learner = eligible_enrolment(cohort=late)
    _approve_on(learner, {n: _at(today - timedelta(days=100)) for n in range(1, 8)})
    _pass_on(learner, _at(today - timedelta(days=5)))
    client.post(f"/enrolments/{learner.id}/certificate", data={"language": "both"})
    ended = db.session.scalar(select(Certificate).where(Certificate.enrolment_id == learner.id))
    assert ended.period[1] == max(late.ends_on, learner.field_window_ends_on)


def test_a_reissue_without_any_change_is_refused(client, admin, db, flashes):
    enrolment = eligible_enrolment()
    client.post(f"/enrolments/{enrolment.id}/certificate", data={"language": "both"})
    certificate = db.session.scalar(select(Certificate))
    counter = db.session.scalar(select(func.sum(SerialCounter.last_number)))
    page = client.post(
        f"/certificates/{certificate.id}/reissue",
        data={"reason": "พิมพ์ใหม่"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "ไม่มีอะไรเปลี่ยน" in page
    assert certificate.serial in page
    assert count_rows(Certificate) == 1
    db.session.refresh(certificate)
    assert certificate.is_valid
    assert db.session.scalar(select(func.sum(SerialCounter.last_number))) == counter
    # The name corrected: the re-issue has a reason to exist.
    enrolment.learner.full_name_th = "นางสาวฟ้าใส ญาติดี"
    db.session.commit()
    client.post(f"/certificates/{certificate.id}/reissue", data={"reason": "แก้ชื่อสะกดผิด"})
    assert count_rows(Certificate) == 2
    db.session.refresh(certificate)
    assert not certificate.is_valid and certificate.superseded_by is not None
    assert certificate.superseded_by.snapshot["learner"]["name_th"] == "นางสาวฟ้าใส ญาติดี"
