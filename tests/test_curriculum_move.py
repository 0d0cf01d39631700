"""Moving a cohort to another curriculum version (issue 18): the preview (each learner complete
and eligible before and after, hours that would no longer count, the waiting logs that change
module), the move (logs and sessions follow their module by number and kind, the others are
carried over and kept), its refusals, two administrators at once, the pages and who may open
them, and the cohort's curriculum named on its pages and on the learner's."""

from __future__ import annotations

import re
import threading
import traceback
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from lca.cohorts.curriculum_move import (
    counterparts_in,
    minutes_after_move,
    move_cohort,
    preview_move,
    progress_after_move,
)
from lca.core.dates import local_today
from lca.core.db import db as _db
from lca.core.db import utcnow
from lca.core.errors import RuleError
from lca.curriculum.services import current_version, field_catalogues_of, modules_of
from lca.curriculum.versions import VersionPlan, create_version
from lca.hours.progress import MINUTES_OF_COHORT, cohort_progress, minutes_by_module
from lca.models import (
    AuditEvent,
    CertificateStatus,
    ClassSession,
    Cohort,
    CurriculumMove,
    CurriculumVersion,
    Enrolment,
    EnrolmentStatus,
    HourLog,
    LogSource,
    LogStatus,
    Module,
    ModuleKind,
    ReportStatus,
)
from lca.models.cohorts import field_window_end
from tests.factories import (
    AdminFactory,
    CertificateFactory,
    ClassSessionFactory,
    CohortFactory,
    EnrolmentFactory,
    FieldReportFactory,
    HourLogFactory,
    LearnerFactory,
    eligible_enrolment,
    instructor_teaching,
)

REASON = "กสศ. ปรับหลักสูตรปี 2570: ภาคสนาม 12 ชั่วโมง"


# --------------------------------------------------------------------------- the world


def _rows(version: CurriculumVersion, drop=(), **by_number) -> list[dict]:
    """The module rows of ``version`` for a new plan, ``by_number`` changing some of them."""
    rows = []
    for m in modules_of(version.id):
        if m.number in drop:
            continue
        row = {
            "number": m.number,
            "title_th": m.title_th,
            "title_en": m.title_en,
            "hours": m.hours,
            "kind": m.kind,
            "description_th": m.description_th,
            "description_en": m.description_en,
            "field_window_months": m.field_window_months,
        }
        rows.append({**row, **by_number.get(m.number, {})})
    return rows


def _new_version(base: CurriculumVersion, rows: list[dict], name_th: str, name_en: str):
    mechanisms, tools = field_catalogues_of(base.id)
    plan = VersionPlan(
        modules=rows,
        mechanism_codes=[m.code for m in mechanisms],
        tool_codes=[t.code for t in tools],
        name_th=name_th,
        name_en=name_en,
        takes_effect_on=date(2027, 1, 1),
    )
    return create_version(plan, ["a rule changed"]).version


def _second_version(first: CurriculumVersion) -> CurriculumVersion:
    """Field practice 12 hours, module 7 removed, a module 8 added."""
    rows = _rows(first, drop=(7,))
    for row in rows:
        if row["kind"] is ModuleKind.FIELD:
            row["hours"] = 12
    rows.append(
        {
            "number": 8,
            "title_th": "การออกแบบเมืองแห่งการเรียนรู้ร่วมกับชุมชน",
            "title_en": "Co-designing a Learning City with its Communities",
            "hours": 6,
            "kind": ModuleKind.CLASSROOM,
            "description_th": "",
            "description_en": "",
            "field_window_months": None,
        }
    )
    return _new_version(first, rows, "CA 48 ชั่วโมง, 2570", "CA 48 hours, 2027")


@pytest.fixture
def versions(db, moving) -> tuple[CurriculumVersion, CurriculumVersion]:
    """The seeded version and a second one (field 12 h, module 7 out, module 8 in), made
    after the cohort of ``moving`` (the factories' defaults read the current version)."""
    first = current_version()
    return first, _second_version(first)


def mod(version: CurriculumVersion, number: int) -> Module:
    return _db.session.scalar(
        select(Module).where(Module.version_id == version.id, Module.number == number)
    )


def _log(enrolment, module, minutes, status=LogStatus.APPROVED, **extra) -> HourLog:
    return HourLogFactory(
        enrolment=enrolment,
        module=module,
        minutes=minutes,
        status=status,
        worked_on=enrolment.field_window_starts_on + timedelta(days=2),
        **extra,
    )


class Moving:
    """A cohort on the first version: เกศินี eligible, ขวัญใจ part-way with waiting logs,
    สมชาย withdrawn with nothing; a session of module 1 and one of module 7."""

    def __init__(self, first: CurriculumVersion) -> None:
        self.cohort = CohortFactory(code="CA-MOVE-01", curriculum_version=first)
        self.somchai = EnrolmentFactory(
            cohort=self.cohort,
            learner=LearnerFactory(full_name_th="สมชาย ทองดี"),
            status=EnrolmentStatus.WITHDRAWN,
            withdrawn_at=utcnow(),
            withdrawal_reason="ย้ายไปทำงานที่อื่น",
        )
        self.kesinee = eligible_enrolment(cohort=self.cohort, full_name_th="เกศินี ศรีสุข")
        self.kwanjai = EnrolmentFactory(
            cohort=self.cohort, learner=LearnerFactory(full_name_th="ขวัญใจ มั่นคง")
        )
        self.session_1 = ClassSessionFactory(cohort=self.cohort, module=mod(first, 1))
        self.session_7 = ClassSessionFactory(cohort=self.cohort, module=mod(first, 7))
        k = self.kwanjai
        self.attended = HourLogFactory(
            enrolment=k,
            module=mod(first, 1),
            minutes=360,
            status=LogStatus.APPROVED,
            source=LogSource.ATTENDANCE,
            class_session=self.session_1,
        )
        self.approved_7 = _log(k, mod(first, 7), 180)
        self.pending_2 = _log(k, mod(first, 2), 120, LogStatus.PENDING)
        self.returned_1 = _log(k, mod(first, 1), 60, LogStatus.RETURNED)
        self.pending_7 = _log(k, mod(first, 7), 60, LogStatus.PENDING)
        _db.session.flush()


@pytest.fixture
def moving(db) -> Moving:
    return Moving(current_version())


def _figures(progress) -> tuple:
    """What a learner's progress says, to compare two readings of it."""
    return (
        progress.enrolment.id,
        progress.hours_complete,
        progress.is_eligible,
        progress.carried_over_minutes,
        [
            (m.module.id, m.approved_minutes, m.pending_minutes, m.outside_window_minutes)
            for m in progress.modules
        ],
    )


def _move(cohort, target, actor, **overrides):
    arguments = {
        "expected_version_id": cohort.curriculum_version_id,
        "reason": REASON,
        "certificates_stand": False,
        "actor": actor,
        **overrides,
    }
    return move_cohort(cohort, target, **arguments)


# --------------------------------------------------------------------------- the pure rules


def test_logs_go_to_the_module_of_the_same_number_and_kind():
    def module(id_, number, kind=ModuleKind.CLASSROOM):
        return Module(id=id_, number=number, kind=kind, hours=6)

    target = [module(11, 1), module(13, 3, ModuleKind.CLASSROOM), module(18, 8)]
    old = [module(1, 1), module(3, 3, ModuleKind.FORUM), module(7, 7)]
    counterparts = counterparts_in(target, [*old, *target])
    assert {k: v.id for k, v in counterparts.items()} == {1: 11, 11: 11, 13: 13, 18: 18}
    # module 3 changed its kind: carried over, as module 7 that is gone
    after = minutes_after_move(
        {1: [360, 0, 0], 11: [60, 30, 0], 3: [120, 0, 0], 7: [0, 90, 0]}, counterparts
    )
    assert after == {11: [420, 30, 0], 3: [120, 0, 0], 7: [0, 90, 0]}


# --------------------------------------------------------------------------- the preview


def test_the_preview_tells_each_learner_before_and_after(moving, versions):
    first, second = versions
    preview = preview_move(moving.cohort, second)
    names = [one.enrolment.learner.full_name_th for one in preview.learners]
    assert names == ["เกศินี ศรีสุข", "ขวัญใจ มั่นคง", "สมชาย ทองดี"]  # Thai order
    kesinee, kwanjai, somchai = preview.learners

    assert (kesinee.before.hours_complete, kesinee.before.is_eligible) == (True, True)
    assert (kesinee.after.hours_complete, kesinee.after.is_eligible) == (False, False)
    assert kesinee.no_longer_counted == [(mod(first, 7), 360)]
    assert kesinee.after.carried_over_minutes == 360
    field_after = kesinee.after.module(5)
    assert (field_after.module, field_after.approved_minutes) == (mod(second, 5), 540)
    assert kesinee.after.module(8).approved_minutes == 0

    assert not kwanjai.before.hours_complete and not kwanjai.after.hours_complete
    assert kwanjai.no_longer_counted == [(mod(first, 7), 180)]
    changing = {(c.log_id, c.from_module.id, c.to_module.id) for c in kwanjai.logs_changing}
    assert changing == {
        (moving.pending_2.id, mod(first, 2).id, mod(second, 2).id),
        (moving.returned_1.id, mod(first, 1).id, mod(second, 1).id),
    }
    assert [(c.log_id, c.to_module) for c in kwanjai.logs_carried_over] == [
        (moving.pending_7.id, None)
    ]
    assert kwanjai.after.module(1).approved_minutes == 360
    assert kwanjai.after.module(2).pending_minutes == 120

    assert not somchai.changes and somchai.no_longer_counted == []

    assert (preview.complete_before, preview.complete_after) == (1, 0)
    assert (preview.eligible_before, preview.eligible_after) == (1, 0)
    assert preview.no_longer_counted_minutes == 540
    # เกศินี: six approved and her field report's pending log; ขวัญใจ: three
    assert (preview.logs_moved, preview.logs_carried_over) == (7 + 3, 1 + 2)
    assert (preview.sessions_moved, preview.sessions_staying) == (1, 1)
    assert [m.number for m in preview.new_modules] == [8]
    assert [(old.number, new.number if new else None) for old, new in preview.module_rows] == [
        (1, 1),
        (2, 2),
        (3, 3),
        (4, 4),
        (5, 5),
        (6, 6),
        (7, None),
    ]
    assert preview.window_follows and not preview.window_changes
    assert not preview.needs_confirmation
    # nothing was written
    assert moving.cohort.curriculum_version_id == first.id
    assert _db.session.scalar(select(func.count()).select_from(CurriculumMove)) == 0


def test_the_preview_after_is_the_pure_rule_on_the_progress_query(moving, versions):
    """progress_after_move is what the preview shows: the same function on the same sums."""
    _first, second = versions
    target = modules_of(second.id)
    counterparts = counterparts_in(target, _db.session.scalars(select(Module)))
    minutes = minutes_by_module(MINUTES_OF_COHORT, {"cohort_id": moving.cohort.id})
    preview = preview_move(moving.cohort, second)
    for one in preview.learners:
        expected = progress_after_move(
            one.enrolment,
            minutes.get(one.enrolment.id, {}),
            counterparts,
            target,
            local_today(),
            one.before.report_status,
        )
        assert _figures(one.after) == _figures(expected)


# --------------------------------------------------------------------------- the move


def test_the_move_re_points_logs_and_sessions_and_keeps_the_carried_over(moving, versions):
    first, second = versions
    admin = AdminFactory()
    move = _move(moving.cohort, second, admin)
    _db.session.expire_all()

    cohort = _db.session.get(Cohort, moving.cohort.id)
    assert cohort.curriculum_version_id == second.id
    logs = {log.id: log for log in _db.session.scalars(select(HourLog))}
    assert logs[moving.attended.id].module_id == mod(second, 1).id
    assert logs[moving.pending_2.id].module_id == mod(second, 2).id
    assert logs[moving.pending_2.id].status is LogStatus.PENDING  # moving with logs waiting
    assert logs[moving.returned_1.id].module_id == mod(second, 1).id
    assert logs[moving.approved_7.id].module_id == mod(first, 7).id  # kept, carried over
    assert logs[moving.pending_7.id].module_id == mod(first, 7).id
    assert logs[moving.pending_2.id].version == 2  # a reviewer holding the old page is refused
    kesinee_modules = {
        log.module_id for log in logs.values() if log.enrolment_id == moving.kesinee.id
    }
    assert kesinee_modules == {mod(second, n).id for n in range(1, 7)} | {mod(first, 7).id}
    sessions = {s.id: s.module_id for s in _db.session.scalars(select(ClassSession))}
    assert sessions[moving.session_1.id] == mod(second, 1).id
    assert sessions[moving.session_7.id] == mod(first, 7).id

    assert (move.from_version_id, move.to_version_id) == (first.id, second.id)
    assert (move.reason, move.moved_by_id, move.certificates_stand) == (REASON, admin.id, False)
    event = _db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "cohort.curriculum_move")
    )
    assert (event.actor_id, event.target_type, event.target_id) == (admin.id, "cohorts", cohort.id)
    assert event.details == {
        "from_version": 1,
        "to_version": second.number,
        "reason": REASON,
        "logs_moved": 10,
        "logs_carried_over": 3,
        "sessions_moved": 1,
        "certificates_stand": False,
    }


def test_progress_after_the_move_is_what_the_preview_said(moving, versions):
    preview = preview_move(moving.cohort, versions[1])
    _move(moving.cohort, versions[1], AdminFactory())
    _db.session.expire_all()
    after = cohort_progress(_db.session.get(Cohort, moving.cohort.id))
    assert [_figures(p) for p in after] == [_figures(one.after) for one in preview.learners]


def test_moving_back_counts_the_carried_over_hours_again(moving, versions):
    first, second = versions
    before = [_figures(p) for p in cohort_progress(moving.cohort)]
    admin = AdminFactory()
    _move(moving.cohort, second, admin)
    _db.session.expire_all()
    cohort = _db.session.get(Cohort, moving.cohort.id)
    back = preview_move(cohort, first)
    assert (back.complete_after, back.eligible_after) == (1, 1)
    _move(cohort, first, admin, reason="ย้ายกลับ: รุ่นนี้จบตามหลักสูตรเดิม")
    _db.session.expire_all()
    assert [_figures(p) for p in cohort_progress(_db.session.get(Cohort, cohort.id))] == before
    assert _db.session.scalar(select(func.count()).select_from(CurriculumMove)) == 2


def _third_version(first: CurriculumVersion) -> CurriculumVersion:
    """The first version with a field window of 8 months instead of 6."""
    rows = _rows(first)
    for row in rows:
        if row["kind"] is ModuleKind.FIELD:
            row["field_window_months"] = 8
    return _new_version(first, rows, "CA 45 ชั่วโมง, 2570 (8 เดือน)", "CA 45 hours, 2027 (8)")


def test_the_field_window_follows_the_version_and_the_preview_counts_with_it(db):
    first = current_version()
    cohort = CohortFactory(curriculum_version=first, starts_on=local_today() - timedelta(days=400))
    late = EnrolmentFactory(cohort=cohort, learner=LearnerFactory(full_name_th="กานดา ช้าไป"))
    for each in modules_of(first.id):
        day = late.field_window_starts_on + timedelta(days=1)
        if each.is_field:  # seven months in: outside six months, inside eight
            day = late.field_window_starts_on + timedelta(days=212)
        HourLogFactory(
            enrolment=late,
            module=each,
            minutes=each.hours * 60,
            status=LogStatus.APPROVED,
            worked_on=day,
        )
    FieldReportFactory(enrolment=late, status=ReportStatus.PASSED)
    own_start = cohort.field_starts_on + timedelta(days=10)
    own = EnrolmentFactory(
        cohort=cohort,
        learner=LearnerFactory(full_name_th="ขจร เริ่มช้า"),
        field_starts_on=own_start,
        field_ends_on=field_window_end(own_start, 6),
    )
    third = _third_version(first)
    _db.session.flush()

    preview = preview_move(cohort, third)
    assert preview.window_follows and preview.window_changes
    assert preview.window_months_after == 8
    [one] = [p for p in preview.learners if p.enrolment.id == late.id]
    assert not one.before.module(5).is_complete and one.before.module(5).outside_window_minutes
    assert one.after.module(5).is_complete and one.after.is_eligible
    assert (preview.eligible_before, preview.eligible_after) == (0, 1)

    _move(cohort, third, AdminFactory())
    _db.session.expire_all()
    cohort = _db.session.get(Cohort, cohort.id)
    assert cohort.field_window_months == 8
    assert cohort.field_ends_on == field_window_end(cohort.field_starts_on, 8)
    assert _db.session.get(Enrolment, own.id).field_ends_on == field_window_end(own_start, 8)
    assert [_figures(p) for p in cohort_progress(cohort)] == [
        _figures(p.after) for p in preview.learners
    ]
    event = _db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "cohort.curriculum_move")
    )
    assert event.details["field_window_months"] == [6, 8]


def test_a_field_window_set_by_hand_stays(db):
    first = current_version()
    third = _third_version(first)
    cohort = CohortFactory(curriculum_version=first, field_window_months=7)
    preview = preview_move(cohort, third)
    assert not preview.window_follows and preview.window_months_after == 7
    _move(cohort, third, AdminFactory())
    _db.session.expire_all()
    assert _db.session.get(Cohort, cohort.id).field_window_months == 7


# --------------------------------------------------------------------------- refusals


def _moves() -> int:
    return _db.session.scalar(select(func.count()).select_from(CurriculumMove))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to_own": True}, "version_id"),
        ({"reason": "   "}, "reason"),
        ({"reason": ""}, "reason"),
        ({"expected_version_id": 999_999}, None),
    ],
    ids=["its own version", "a blank reason", "no reason", "moved meanwhile"],
)
def test_the_service_refuses(moving, versions, overrides, field):
    first, second = versions
    target = first if overrides.pop("to_own", False) else second
    with pytest.raises(RuleError) as refused:
        _move(moving.cohort, target, AdminFactory(), **overrides)
    assert refused.value.field == field
    assert _moves() == 0 and moving.cohort.curriculum_version_id == first.id


def test_valid_certificates_must_be_confirmed_and_revoked_ones_need_not(moving, versions):
    _first, second = versions
    revoked = CertificateFactory(
        enrolment=moving.somchai,
        status=CertificateStatus.REVOKED,
        revoked_at=utcnow(),
        revocation_reason="ออกให้ผิดคน",
    )
    assert not preview_move(moving.cohort, second).needs_confirmation
    valid = CertificateFactory(enrolment=moving.kesinee)
    preview = preview_move(moving.cohort, second)
    assert preview.needs_confirmation
    assert preview.certificate_holders == [moving.kesinee]
    with pytest.raises(RuleError) as refused:
        _move(moving.cohort, second, AdminFactory())
    assert refused.value.field == "certificates_stand" and _moves() == 0
    move = _move(moving.cohort, second, AdminFactory(), certificates_stand=True)
    assert move.certificates_stand
    _db.session.expire_all()
    assert _db.session.get(type(valid), valid.id).status is CertificateStatus.VALID
    assert _db.session.get(type(revoked), revoked.id).status is CertificateStatus.REVOKED


def test_a_revoked_certificate_alone_asks_for_no_confirmation(moving, versions):
    for enrolment in (moving.kesinee, moving.somchai):
        CertificateFactory(
            enrolment=enrolment,
            status=CertificateStatus.REVOKED,
            revoked_at=utcnow(),
            revocation_reason="ชื่อสะกดผิด",
        )
    move = _move(moving.cohort, versions[1], AdminFactory())
    assert not move.certificates_stand


# --------------------------------------------------------------------------- the pages


def _page(response) -> str:
    return response.get_data(as_text=True)


def _form(moving, second, **overrides) -> dict:
    return {
        "version_id": str(second.id),
        "expected_version_id": str(moving.cohort.curriculum_version_id),
        "reason": REASON,
        **overrides,
    }


def test_the_page_lists_the_versions_and_previews_a_move(client, admin, moving, versions):
    _first, second = versions
    url = f"/cohorts/{moving.cohort.id}/curriculum"
    page = _page(client.get(url))
    assert "หลักสูตรของรุ่น CA-MOVE-01" in page
    assert 'รุ่นนี้ใช้หลักสูตร <a href="/curriculum?version=1"><strong>CA 45 ชั่วโมง, 2567' in page
    assert f'href="{url}?version={second.number}"' in page
    assert "ดูตัวอย่างผลการย้ายไปใช้ CA 48 ชั่วโมง, 2570" in page
    assert 'name="reason"' not in page  # no form before a version is chosen

    page = _page(client.get(f"{url}?version={second.number}"))
    assert "ตัวอย่างผลการย้ายไปใช้ CA 48 ชั่วโมง, 2570" in page
    assert "ระบบยังไม่ได้เปลี่ยนแปลงอะไร" in page
    assert "ไม่มีในฉบับใหม่ ชั่วโมงของกลุ่มวิชานี้จะยกมาจากหลักสูตรเดิมและไม่นับรวมอีก" in page
    assert "ตอนนี้ 1 คน → หลังย้าย 0 คน" in page
    assert page.index("เกศินี ศรีสุข") < page.index("ขวัญใจ มั่นคง") < page.index("สมชาย ทองดี")
    assert "กลุ่มวิชาที่ 7: 6 ชั่วโมง" in page and "กลุ่มวิชาที่ 7: 3 ชั่วโมง" in page
    assert f'href="/hours/{moving.pending_2.id}"' in page
    assert "ยกมาจากหลักสูตรเดิม: คงอยู่ในกลุ่มวิชาเดิมและจะไม่นับรวม" in page
    assert "ช่วงปฏิบัติการในพื้นที่ของรุ่นยังคงเป็น 6 เดือน" in page
    assert 'name="certificates_stand"' not in page  # no certificate: no box
    assert 'class="table-scroll"' in page and "<script>" not in page

    english = _page(client.get(f"{url}?version={second.number}&lang=en", follow_redirects=True))
    assert "Preview: moving to CA 48 hours, 2027" in english
    assert "Not in the new version: its hours are carried over and no longer count" in english
    assert "1 now → 0 after the move" in english


def test_the_page_of_its_own_version_says_so(client, admin, moving):
    page = _page(client.get(f"/cohorts/{moving.cohort.id}/curriculum?version=1"))
    assert "รุ่นนี้ใช้หลักสูตร CA 45 ชั่วโมง, 2567 อยู่แล้ว" in page
    assert 'name="reason"' not in page


def test_a_move_through_the_page(client, admin, moving, versions, flashes):
    _first, second = versions
    url = f"/cohorts/{moving.cohort.id}/curriculum?version={second.number}"
    response = client.post(url, data=_form(moving, second))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cohorts/{moving.cohort.id}")
    page = _page(client.get(response.headers["Location"]))
    assert "รุ่น CA-MOVE-01 เปลี่ยนไปใช้หลักสูตร CA 48 ชั่วโมง, 2570 แล้ว" in flashes(page)
    assert f'หลักสูตร: <a href="/curriculum?version={second.number}">CA 48 ชั่วโมง, 2570</a>' in page
    assert "การย้ายหลักสูตรที่ผ่านมา" in page and REASON in page
    assert "CA 45 ชั่วโมง, 2567 → CA 48 ชั่วโมง, 2570" in page
    assert str(local_today().year + 543) in page  # when, in the Buddhist era
    assert admin.full_name_th in page
    assert "CA 48 ชั่วโมง, 2570" in _page(client.get("/cohorts/"))  # the list's column

    _db.session.expire_all()
    assert _db.session.get(Cohort, moving.cohort.id).curriculum_version_id == second.id
    assert _moves() == 1

    audit = _page(client.get("/admin/audit"))
    sentences = [
        re.sub("<[^>]+>", "", sentence)
        for sentence in re.findall(r'class="audit-sentence">(.*?)</td>', audit)
    ]
    assert f"{admin.full_name_th} ย้ายรุ่น CA-MOVE-01 ไปใช้หลักสูตรฉบับอื่น" in sentences
    for name in ("จากหลักสูตรฉบับที่", "ไปยังหลักสูตรฉบับที่", "บันทึกชั่วโมงที่ยกมาจากหลักสูตรเดิม"):
        assert name in audit
    assert "บันทึกชั่วโมงที่ย้ายไปอยู่ในกลุ่มวิชาของฉบับใหม่" in audit and REASON in audit


def test_the_page_refuses_with_a_message_and_writes_nothing(
    client, admin, moving, versions, field_error, flashes
):
    first, second = versions
    url = f"/cohorts/{moving.cohort.id}/curriculum?version={second.number}"
    page = _page(client.post(url, data=_form(moving, second, reason="  \n ")))
    assert field_error(page, "reason") == "โปรดระบุเหตุผลของการย้ายหลักสูตร"
    assert "ตัวอย่างผลการย้ายไปใช้ CA 48 ชั่วโมง, 2570" in page  # the preview again

    page = _page(client.post(url, data=_form(moving, second, version_id=str(first.id))))
    assert "รุ่นนี้ใช้หลักสูตรฉบับนี้อยู่แล้ว โปรดเลือกฉบับอื่น" in page

    CertificateFactory(enrolment=moving.kesinee)
    page = _page(client.get(url))
    assert 'name="certificates_stand"' in page and "เกศินี ศรีสุข" in page
    assert "วุฒิบัตรที่ออกไปแล้วยังมีผลตามที่ออกไว้" in page
    page = _page(client.post(url, data=_form(moving, second)))
    assert "มีผู้เรียนในรุ่นนี้ที่ได้รับวุฒิบัตรซึ่งยังมีผลอยู่แล้ว" in page
    assert 'id="certificates_stand-error"' in page
    _db.session.expire_all()
    assert _moves() == 0
    assert _db.session.get(Cohort, moving.cohort.id).curriculum_version_id == first.id

    english = _page(client.post(f"{url}&lang=en", data=_form(moving, second)))
    assert "Tick the box to confirm that their certificates stand as issued." in english

    response = client.post(url, data=_form(moving, second, certificates_stand="y"))
    assert response.status_code == 302
    _db.session.expire_all()
    assert _db.session.scalar(select(CurriculumMove)).certificates_stand


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"version_id": "abc"}, "หลักสูตรฉบับที่จะย้ายไป"),
        ({"version_id": "99999999999"}, "โปรดเลือกหลักสูตรฉบับที่จะย้ายรุ่นนี้ไปใช้"),
        ({"version_id": "-3"}, "โปรดเลือกหลักสูตรฉบับที่จะย้ายรุ่นนี้ไปใช้"),
        ({"version_id": ""}, "โปรดเลือกหลักสูตรฉบับที่จะย้ายรุ่นนี้ไปใช้"),
        ({"version_id": "nothing"}, "ไม่มีหลักสูตรฉบับนี้ โปรดเลือกฉบับจากรายการ"),
        ({"version_id": "module"}, "ไม่มีหลักสูตรฉบับนี้ โปรดเลือกฉบับจากรายการ"),
        ({"expected_version_id": ""}, "โปรดเปิดหน้าตัวอย่างผลการย้ายอีกครั้ง"),
        ({"expected_version_id": "1.5"}, "หลักสูตรที่รุ่นใช้อยู่ตอนดูตัวอย่างผลการย้าย"),
        ({"expected_version_id": "2147483648"}, "โปรดเปิดหน้าตัวอย่างผลการย้ายอีกครั้ง"),
        ({"expected_version_id": "999999"}, "ผู้ดูแลระบบอีกคนเพิ่งย้ายรุ่นนี้"),
        ({"reason": "ก" * 1001}, "ไม่เกิน"),
    ],
    ids=[
        "text",
        "a huge number",
        "negative",
        "empty",
        "an id of no version",
        "a module's id",
        "no expected id",
        "not a whole number",
        "past the database's integers",
        "an expected id of another version",
        "a reason too long",
    ],
)
def test_hostile_posts_get_a_message_never_an_error(
    client, admin, moving, versions, overrides, message
):
    first, second = versions
    last_version = _db.session.scalar(select(func.max(CurriculumVersion.id)))
    module_id = _db.session.scalar(select(func.max(Module.id)))
    if overrides.get("version_id") == "nothing":
        overrides["version_id"] = str(last_version + 1000)
    if overrides.get("version_id") == "module":
        assert module_id > last_version
        overrides["version_id"] = str(module_id)
    url = f"/cohorts/{moving.cohort.id}/curriculum"
    response = client.post(url, data=_form(moving, second, **overrides))
    assert response.status_code == 200
    assert message in _page(response)
    _db.session.expire_all()
    assert _moves() == 0
    assert _db.session.get(Cohort, moving.cohort.id).curriculum_version_id == first.id


@pytest.mark.parametrize("version", ["99999999999", "0", "-1", "77"])
def test_a_version_number_of_nothing_is_not_found(client, admin, moving, versions, version):
    url = f"/cohorts/{moving.cohort.id}/curriculum?version={version}"
    assert client.get(url).status_code == 404


def test_a_version_that_is_not_a_number_shows_the_list(client, admin, moving, versions):
    response = client.get(f"/cohorts/{moving.cohort.id}/curriculum?version=abc")
    assert response.status_code == 200 and "ดูตัวอย่างผลการย้ายไปใช้" in _page(response)


def test_only_an_administrator_opens_the_page(client, login, versions):
    taught = instructor_teaching(curriculum_version=versions[0])
    url = f"/cohorts/{taught.cohort.id}/curriculum"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(taught.enrolment.learner)
    assert client.get(url).status_code == 403
    assert client.post(url, data={"reason": REASON}).status_code == 403
    login(taught.instructor)
    assert client.get(url).status_code == 403
    assert client.post(url, data={"reason": REASON}).status_code == 403
    page = _page(client.get(f"/cohorts/{taught.cohort.id}"))
    assert 'หลักสูตร: <a href="/curriculum?version=1">CA 45 ชั่วโมง, 2567</a>' in page
    assert url not in page  # the instructor sees the curriculum, not the move
    login(AdminFactory())
    assert client.get(url).status_code == 200
    assert url in _page(client.get(f"/cohorts/{taught.cohort.id}"))
    _db.session.expire_all()
    assert _moves() == 0


# --------------------------------------------------------------------------- the learner


def test_the_learner_sees_carried_over_hours_at_the_same_cost(
    client, login, moving, versions, count_statements
):
    _first, second = versions
    login(moving.kwanjai.learner)
    client.get("/learner")

    def measure() -> tuple[int, str]:
        with count_statements() as counter:
            page = _page(client.get("/learner"))
        return counter.count, page

    before, page = measure()
    assert "ยกมาจากหลักสูตรเดิม" not in page
    assert 'หลักสูตร: <a href="/curriculum?version=1">CA 45 ชั่วโมง, 2567</a>' in page
    _move(moving.cohort, second, AdminFactory())
    _db.session.expire_all()
    after, page = measure()
    assert after == before
    assert "ชั่วโมงที่ยกมาจากหลักสูตรเดิมของรุ่น 3 ชั่วโมง ยังเก็บไว้ แต่ไม่นับรวมในหลักสูตรนี้" in page
    assert f'หลักสูตร: <a href="/curriculum?version={second.number}">CA 48 ชั่วโมง, 2570</a>' in page

    log_page = _page(client.get(f"/hours/{moving.approved_7.id}"))
    assert (
        "กลุ่มวิชานี้ไม่อยู่ในหลักสูตรของรุ่น (CA 48 ชั่วโมง, 2570) บันทึกนี้ยกมาจากหลักสูตรเดิมและยังเก็บไว้" in log_page
    )
    moved_page = _page(client.get(f"/hours/{moving.pending_2.id}"))
    assert "ไม่อยู่ในหลักสูตรของรุ่น" not in moved_page
    english = _page(client.get("/learner?lang=en", follow_redirects=True))
    assert "3 hours carried over from the cohort's earlier curriculum are kept" in english


# --------------------------------------------------------------------------- two at once


@pytest.fixture(scope="module")
def race_app(new_database, make_app, tmp_path_factory):
    """An app on a database of its own whose transactions commit for real."""
    real = make_app(new_database("lca_move_races"), tmp_path_factory.mktemp("move-race"))
    yield real
    with real.app_context():
        _db.engine.dispose()


def test_two_administrators_moving_at_once_one_wins(race_app, login_on, flashes):
    with race_app.app_context():
        first = current_version()
        world = Moving(first)
        second = _second_version(first)
        browsers = []
        for _ in range(3):
            browser = race_app.test_client()
            login_on(browser, AdminFactory())
            browsers.append(browser)
        _db.session.commit()
        cohort_id = world.cohort.id
        data = {
            "version_id": str(second.id),
            "expected_version_id": str(first.id),
            "reason": REASON,
        }
    url = f"/cohorts/{cohort_id}/curriculum?version={second.number}"
    barrier, answers = threading.Barrier(2), [None, None]

    def send(number: int) -> None:
        try:
            barrier.wait(timeout=10)
            answers[number] = browsers[number].post(url, data=data)
        except Exception:  # shown by the assertion below
            answers[number] = traceback.format_exc()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(getattr(a, "status_code", a) for a in answers)
    assert codes == [200, 302], answers
    [lost] = [a for a in answers if a.status_code == 200]
    refusal = "ผู้ดูแลระบบอีกคนเพิ่งย้ายรุ่นนี้ไปใช้หลักสูตรฉบับอื่นเมื่อสักครู่"
    assert any(refusal in said for said in flashes(_page(lost)))
    later = browsers[2].post(url, data=data)
    assert any(refusal in said for said in flashes(_page(later)))
    with race_app.app_context():
        moves = _db.session.scalar(
            select(func.count()).where(CurriculumMove.cohort_id == cohort_id)
        )
        events = _db.session.scalar(
            select(func.count()).where(
                AuditEvent.action == "cohort.curriculum_move", AuditEvent.target_id == cohort_id
            )
        )
        cohort = _db.session.get(Cohort, cohort_id)
        logs_on_second = _db.session.scalar(
            select(func.count())
            .select_from(HourLog)
            .join(Module, Module.id == HourLog.module_id)
            .where(Module.version_id == second.id)
        )
        assert (moves, events, cohort.curriculum_version_id) == (1, 1, second.id)
        assert logs_on_second == 10  # moved once, not twice
