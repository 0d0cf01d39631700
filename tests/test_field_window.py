"""Each learner's field window: the cohort's, or the learner's own start; an administrator
extends one learner's window, and the reason is kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lca.models import AuditEvent, FieldWindowExtension, LogStatus, Message
from lca.models.cohorts import field_window_end
from tests.factories import CohortFactory, EnrolmentFactory, HourLogFactory, count_rows, module


@pytest.fixture
def enrolment(admin, db):
    return EnrolmentFactory()


def change_url(enrolment) -> str:
    return f"/cohorts/{enrolment.cohort_id}/enrolments/{enrolment.id}/field-window"


def test_extend_one_learners_window_with_a_reason(client, enrolment, db):
    old_end = enrolment.field_window_ends_on
    new_end = old_end + timedelta(days=45)
    response = client.post(
        change_url(enrolment),
        data={"extended_to": new_end.isoformat(), "reason": "ลาคลอด 6 สัปดาห์"},
    )
    assert response.status_code == 302
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == new_end
    extension = db.session.scalar(select(FieldWindowExtension))
    assert (extension.previous_ends_on, extension.reason) == (old_end, "ลาคลอด 6 สัปดาห์")
    for url in (f"/enrolments/{enrolment.id}", change_url(enrolment)):
        assert "ลาคลอด 6 สัปดาห์" in client.get(url).get_data(as_text=True)
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
        (0, "เหตุผล", "extended_to", "ช่วงปฏิบัติการในพื้นที่สิ้นสุดในวันที่"),
        (-10, "เหตุผล", "extended_to", "ไม่สามารถสิ้นสุดก่อนวันสุดท้ายเดิม"),
        (30, "", "reason", "ระบุเหตุผลของการขยายเวลา"),
    ],
)
def test_bad_extensions_are_refused(
    client, enrolment, db, days, reason, field, message, field_error
):
    end = enrolment.field_window_ends_on
    page = client.post(
        change_url(enrolment),
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
        change_url(extended),
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


# Correcting an extension ------------------------------------------------------------------------


def _years_later(day, years):
    return day.replace(year=day.year + years)


def test_a_far_date_asks_for_confirmation_then_is_kept(client, enrolment, db, field_error):
    """A mistyped year (2030 for 2027) is caught: more than 6 months past the cohort's last day
    needs the box ticked; the page says why and keeps what was typed."""
    end = enrolment.field_window_ends_on
    far = _years_later(end, 3)
    data = {"extended_to": far.isoformat(), "reason": "ลาป่วยยาว"}
    page = client.post(change_url(enrolment), data=data).get_data(as_text=True)
    assert "เกิน 6 เดือนหลังวันสุดท้ายของรุ่น" in page
    assert 'name="confirm"' in page and "ลาป่วยยาว" in page
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == end and count_rows(FieldWindowExtension) == 0
    # A date within six months of the cohort's end needs no confirmation.
    assert 'name="confirm"' not in client.get(change_url(enrolment)).get_data(as_text=True)
    response = client.post(change_url(enrolment), data={**data, "confirm": "y"})
    assert response.status_code == 302
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == far


def test_a_mistaken_extension_is_corrected_to_an_earlier_day(client, enrolment, db):
    cohort = enrolment.cohort
    original = enrolment.field_window_ends_on
    mistake = _years_later(original, 4)
    client.post(
        change_url(enrolment),
        data={"extended_to": mistake.isoformat(), "reason": "ลาคลอด", "confirm": "y"},
    )
    sensible = original + timedelta(days=60)
    response = client.post(
        change_url(enrolment),
        data={"extended_to": sensible.isoformat(), "reason": "พิมพ์ปีผิด แก้เป็นปีที่ถูก"},
    )
    assert response.status_code == 302
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == sensible
    first, second = db.session.scalars(
        select(FieldWindowExtension).order_by(FieldWindowExtension.id)
    )
    assert (first.previous_ends_on, first.extended_to) == (original, mistake)
    assert (second.previous_ends_on, second.extended_to) == (mistake, sensible)
    assert second.reason == "พิมพ์ปีผิด แก้เป็นปีที่ถูก"
    page = client.get(change_url(enrolment)).get_data(as_text=True)
    assert "พิมพ์ปีผิด แก้เป็นปีที่ถูก" in page and "ลาคลอด" in page
    assert "แก้เป็นวันที่เร็วขึ้น" in page  # the correction is named as one
    # A later change of the cohort's window keeps the correction, not the mistaken far date.
    data = {
        "code": cohort.code,
        "host_city_id": cohort.host_city_id,
        "starts_on": cohort.starts_on.isoformat(),
        "ends_on": cohort.ends_on.isoformat(),
        "field_starts_on": cohort.field_starts_on.isoformat(),
        "field_window_months": "7",
    }
    assert client.post(f"/cohorts/{cohort.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert enrolment.field_window_ends_on == max(sensible, cohort.field_ends_on)


def test_a_correction_never_cuts_off_approved_field_hours(client, enrolment, db, field_error):
    original = enrolment.field_window_ends_on
    client.post(
        change_url(enrolment),
        data={"extended_to": (original + timedelta(days=90)).isoformat(), "reason": "ลาคลอด"},
    )
    worked = original + timedelta(days=30)
    HourLogFactory(
        enrolment=enrolment, module=module(5), worked_on=worked, status=LogStatus.APPROVED
    )
    before = count_rows(FieldWindowExtension)
    page = client.post(
        change_url(enrolment),
        data={"extended_to": (worked - timedelta(days=1)).isoformat(), "reason": "แก้ไข"},
    )
    assert "มีชั่วโมงปฏิบัติการในพื้นที่ที่อนุมัติแล้ว" in field_error(page.get_data(as_text=True), "extended_to")
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == original + timedelta(days=90)
    assert count_rows(FieldWindowExtension) == before
    # The day of the approved hours itself is allowed.
    client.post(change_url(enrolment), data={"extended_to": worked.isoformat(), "reason": "แก้ไข"})
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == worked


def test_a_correction_never_goes_before_the_original_end(client, enrolment, db, field_error):
    original = enrolment.field_window_ends_on
    client.post(
        change_url(enrolment),
        data={"extended_to": (original + timedelta(days=20)).isoformat(), "reason": "ลาคลอด"},
    )
    page = client.post(
        change_url(enrolment),
        data={"extended_to": (original - timedelta(days=1)).isoformat(), "reason": "แก้ไข"},
    )
    assert "ไม่สามารถสิ้นสุดก่อนวันสุดท้ายเดิม" in field_error(page.get_data(as_text=True), "extended_to")
    client.post(change_url(enrolment), data={"extended_to": original.isoformat(), "reason": "แก้ไข"})
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == original


@pytest.mark.parametrize(
    "data",
    [
        {"extended_to": "2030-02-30", "reason": "x"},
        {"extended_to": "not a date", "reason": "x"},
        {"extended_to": "", "reason": "x"},
        {"extended_to": "9999-12-31", "reason": "x"},
        {"extended_to": "2569-01-01", "reason": "x"},  # a Buddhist-era year
        {"extended_to": "0001-01-01", "reason": "x"},
        {"extended_to": "2027-01-01", "reason": "x" * 1001},
        {"extended_to": "2027-01-01", "reason": "   "},
    ],
)
def test_hostile_changes_get_a_message_and_change_nothing(client, enrolment, db, data):
    end = enrolment.field_window_ends_on
    response = client.post(change_url(enrolment), data=data)
    assert response.status_code == 200
    assert 'class="error-summary"' in response.get_data(as_text=True)
    db.session.refresh(enrolment)
    assert enrolment.field_window_ends_on == end
    assert count_rows(FieldWindowExtension) == 0


def test_an_earlier_day_tells_the_learner_it_was_corrected(client, enrolment, db):
    original = enrolment.field_window_ends_on
    client.post(
        change_url(enrolment),
        data={"extended_to": (original + timedelta(days=90)).isoformat(), "reason": "ลาคลอด"},
    )
    client.post(
        change_url(enrolment),
        data={"extended_to": (original + timedelta(days=30)).isoformat(), "reason": "แก้ไข"},
    )
    messages = db.session.scalars(select(Message).order_by(Message.id)).all()
    assert [m.params["earlier"] for m in messages] == [False, True]
