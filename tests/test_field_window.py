"""Each learner's field window: the cohort's, or the learner's own start; an administrator
extends one learner's window, and the reason is kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lca.models import AuditEvent, FieldWindowExtension
from lca.models.cohorts import field_window_end
from tests.factories import CohortFactory, EnrolmentFactory, count_rows


@pytest.fixture
def enrolment(admin, db):
    return EnrolmentFactory()


def test_extend_one_learners_window_with_a_reason(client, enrolment, db):
    old_end = enrolment.field_window_ends_on
    new_end = old_end + timedelta(days=45)
    response = client.post(
        f"/enrolments/{enrolment.id}/extend",
        data={"extended_to": new_end.isoformat(), "reason": "ลาคลอด 6 สัปดาห์"},
    )
    assert response.status_code == 302
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == new_end
    extension = db.session.scalar(select(FieldWindowExtension))
    assert (extension.previous_ends_on, extension.reason) == (old_end, "ลาคลอด 6 สัปดาห์")
    page = client.get(f"/enrolments/{enrolment.id}").get_data(as_text=True)
    assert "ลาคลอด 6 สัปดาห์" in page
    assert (
        db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "enrolment.extend_field_window")
        ).details["reason"]
        == "ลาคลอด 6 สัปดาห์"
    )
    # Other learners of the cohort keep the cohort's window.
    other = EnrolmentFactory(cohort=enrolment.cohort)
    assert other.field_window_ends_on == old_end


@pytest.mark.parametrize(
    ("days", "reason", "field", "message"),
    [
        (0, "เหตุผล", "extended_to", "วันสุดท้ายใหม่ต้องอยู่หลังวันสุดท้ายเดิม"),
        (-10, "เหตุผล", "extended_to", "วันสุดท้ายใหม่ต้องอยู่หลังวันสุดท้ายเดิม"),
        (30, "", "reason", "ระบุเหตุผลของการขยายเวลา"),
    ],
)
def test_bad_extensions_are_refused(
    client, enrolment, db, days, reason, field, message, field_error
):
    end = enrolment.field_window_ends_on
    page = client.post(
        f"/enrolments/{enrolment.id}/extend",
        data={"extended_to": (end + timedelta(days=days)).isoformat(), "reason": reason},
    )
    assert message in field_error(page.get_data(as_text=True), field)
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == end and count_rows(FieldWindowExtension) == 0


def test_a_learner_can_have_their_own_field_start(client, enrolment, db, field_error):
    cohort = enrolment.cohort
    own_start = cohort.field_starts_on + timedelta(days=31)
    client.post(
        f"/enrolments/{enrolment.id}/field-start", data={"field_starts_on": own_start.isoformat()}
    )
    db.session.refresh(enrolment)
    assert enrolment.field_window_starts_on == own_start
    assert enrolment.field_window_ends_on > cohort.field_ends_on
    page = client.post(
        f"/enrolments/{enrolment.id}/field-start",
        data={"field_starts_on": (cohort.starts_on - timedelta(days=1)).isoformat()},
    )
    assert "ปฏิบัติการในพื้นที่เริ่มก่อนวันเริ่มรุ่น" in field_error(
        page.get_data(as_text=True), "field_starts_on"
    )
    client.post(f"/enrolments/{enrolment.id}/field-start", data={"field_starts_on": ""})
    db.session.refresh(enrolment)
    assert (enrolment.field_starts_on, enrolment.field_ends_on) == (None, None)
    assert enrolment.field_window_ends_on == cohort.field_ends_on


def test_changing_the_cohorts_window_moves_own_windows_but_keeps_extensions(client, admin, db):
    cohort = CohortFactory(field_window_months=6)
    extended, own = EnrolmentFactory(cohort=cohort), EnrolmentFactory(cohort=cohort)
    far = cohort.field_ends_on + timedelta(days=100)
    client.post(
        f"/enrolments/{extended.id}/extend",
        data={"extended_to": far.isoformat(), "reason": "ย้ายพื้นที่ทำงาน"},
    )
    client.post(
        f"/enrolments/{own.id}/field-start",
        data={"field_starts_on": cohort.field_starts_on.isoformat()},
    )
    data = {
        "code": cohort.code,
        "host_city_id": cohort.host_city_id,
        "starts_on": cohort.starts_on.isoformat(),
        "ends_on": cohort.ends_on.isoformat(),
        "field_starts_on": cohort.field_starts_on.isoformat(),
        "field_window_months": "9",
    }
    assert client.post(f"/cohorts/{cohort.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert cohort.field_ends_on == field_window_end(cohort.field_starts_on, 9)
    assert extended.field_window_ends_on == max(far, cohort.field_ends_on)
    assert own.field_window_ends_on == cohort.field_ends_on
