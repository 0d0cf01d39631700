"""The audit log reads as sentences for people: who did what to which object (a link to it),
with the details decoded (Thai as written), in local time; filters and exports still work; and
every action the code records has a sentence."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import escape

from lca.admin.audit_sentences import ACTIONS
from lca.core.audit import record
from lca.core.dates import local_today
from lca.models import AuditEvent
from lca.ops.seeding import seed_all
from tests.factories import (
    AuditEventFactory,
    CertificateFactory,
    CityFactory,
    ClassSessionFactory,
    EnrolmentFactory,
    FieldReportFactory,
    HourLogFactory,
    InstructorFactory,
    LearnerFactory,
    edit_yaml,
)
from tests.test_reports_and_exports import read_csv, read_xlsx

LCA = Path(__file__).resolve().parents[1] / "lca"


def _actions_in(node: ast.expr, module: ast.Module) -> set[str]:
    """The action names an argument of record() can be: a literal, either branch of a
    conditional, or a value of a module-level dict indexed by it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _actions_in(node.body, module) | _actions_in(node.orelse, module)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        for statement in module.body:
            if (
                isinstance(statement, ast.Assign)
                and any(
                    isinstance(t, ast.Name) and t.id == node.value.id for t in statement.targets
                )
                and isinstance(statement.value, ast.Dict)
            ):
                return set().union(*(_actions_in(v, module) for v in statement.value.values))
    raise AssertionError(f"cannot tell which action this records: {ast.unparse(node)}")


def recorded_actions() -> dict[str, str]:
    """Every action name passed to lca.core.audit.record anywhere in lca/, with where."""
    found = {}
    for path in LCA.rglob("*.py"):
        module = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(module):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "record"
                and len(node.args) >= 2
            ):
                for action in _actions_in(node.args[1], module):
                    found[action] = f"{path.relative_to(LCA.parent)}:{node.lineno}"
    return found


def test_every_recorded_action_has_a_sentence():
    found = recorded_actions()
    assert len(found) > 40  # the scan finds the calls (hour logs, accounts, certificates …)
    missing = {action: where for action, where in found.items() if action not in ACTIONS}
    assert not missing, f"add a name and a sentence to lca/admin/audit_sentences.py: {missing}"


def test_an_approval_reads_as_a_sentence_with_links(admin_client, admin, db):
    teacher = InstructorFactory(full_name_th="ครูสมชาย ใจดี")
    learner = LearnerFactory(full_name_th="สมหญิง รักเรียน")
    log = HourLogFactory(enrolment=EnrolmentFactory(learner=learner), minutes=120)
    record(teacher, "hour_log.approve", log)
    db.session.commit()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    sentence = re.search(r'class="audit-sentence">(.*?)</td>', page).group(1)
    assert re.sub("<[^>]+>", "", sentence) == "ครูสมชาย ใจดี อนุมัติ 2 ชั่วโมง ในหมวด 1 ของ สมหญิง รักเรียน"
    assert f'<a href="/hours/{log.id}">2 ชั่วโมง ในหมวด 1</a>' in sentence
    assert f'<a href="/admin/users/{teacher.id}/edit">ครูสมชาย ใจดี</a>' in sentence
    assert "<code>hour_log.approve</code>" not in page  # a person reads words, not codes


def test_objects_link_to_pages_the_administrator_can_open(admin_client, admin, db):
    enrolment = EnrolmentFactory(learner=LearnerFactory(full_name_th="วันดี มีสุข"))
    objects = [
        ("enrolment.withdraw", enrolment),
        ("cohort.update", enrolment.cohort),
        ("city.update", CityFactory(name_th="เชียงคาน", name_en="Chiang Khan")),
        ("user.update", enrolment.learner),
        ("hour_log.submit", HourLogFactory(enrolment=enrolment)),
        ("field_report.submit", FieldReportFactory(enrolment=enrolment)),
        ("class_session.create", ClassSessionFactory(cohort=enrolment.cohort)),
        ("certificate.issue", CertificateFactory(enrolment=enrolment)),
    ]
    for action, target in objects:
        record(admin, action, target)
    db.session.commit()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    sentences = re.findall(r'class="audit-sentence">(.*?)</td>', page)
    assert len(sentences) == len(objects)
    for sentence in sentences:
        links = re.findall(r'<a href="([^"]+)">', sentence)
        assert len(links) == 2, sentence  # the person and the object
        for link in links:
            assert admin_client.get(link).status_code == 200, link


def test_details_are_decoded_and_escaped(admin_client, admin, db):
    enrolment = EnrolmentFactory(learner=LearnerFactory(full_name_th="มานะ อดทน"))
    reason = "ย้ายไปรับราชการที่จังหวัดน่าน <b>ด่วน</b>"
    record(admin, "enrolment.withdraw", enrolment, reason=reason)
    record(
        admin,
        "enrolment.extend_field_window",
        enrolment,
        previous="2026-12-01",
        extended_to="2027-03-31",
        reason="ป่วย",
    )
    record(admin, "cohort.update", enrolment.cohort, changes={"code": ["CA-1", "CA-๒"]})
    record(admin, "user.create", enrolment.learner, role="learner", via="import")
    db.session.commit()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert str(escape(reason)) in page and "<b>ด่วน</b>" not in page
    assert "\\u0e" not in page
    assert "กำหนดวันสุดท้ายของช่วงฝึกภาคสนามของ" in page and "เป็น 31 มี.ค. 2570" in page
    assert "code: CA-1 → CA-๒" in page
    assert "ผู้เรียน</li>" in page and "การนำเข้าจากไฟล์ตาราง</li>" in page  # codes in words


def test_an_event_without_actor_or_object_still_reads(admin_client, db):
    AuditEventFactory(
        actor=None,
        action="auth.login_failed",
        target_type=None,
        target_id=None,
        details={"email": "nobody@example.org"},
    )
    AuditEventFactory(action="hour_log.approve", target_type="hour_logs", target_id=999999)
    db.session.commit()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "มีผู้พยายามเข้าสู่ระบบด้วยอีเมล nobody@example.org" in page
    assert "บันทึกชั่วโมง #999999" in page  # deleted since: named, not linked


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_sentence_reads_with_or_without_details(action, app):
    from lca.admin.audit_sentences import tell

    event = AuditEvent(action=action, actor=None, details={}, origin="cli")
    with app.test_request_context("/"):
        told = tell([event])[0]
    assert told.text and "%(" not in told.text and "%(" not in told.html


def test_the_audit_log_filters_and_exports(admin_client, admin, db):
    someone = LearnerFactory(email="someone@example.org", full_name_th="ใครบางคน ทดสอบ")
    AuditEventFactory(
        actor=someone, action="hour_log.submit", target_type="hour_logs", target_id=42
    )
    AuditEventFactory(actor=admin, action="cohort.create", target_type="cohorts", target_id=7)
    client = admin_client
    page = client.get("/admin/audit?person=someone").get_data(as_text=True)
    assert "บันทึกชั่วโมง #42" in page and "รุ่น #7" not in page
    page = client.get("/admin/audit?person=ใครบางคน").get_data(as_text=True)
    assert "บันทึกชั่วโมง #42" in page and "รุ่น #7" not in page
    page = client.get("/admin/audit?action=cohort.create").get_data(as_text=True)
    assert "รุ่น #7" in page and "บันทึกชั่วโมง #42" not in page
    assert '<option selected value="cohort.create">สร้างรุ่น</option>' in page
    page = client.get("/admin/audit?target_type=hour_logs&target_id=42").get_data(as_text=True)
    assert "บันทึกชั่วโมง #42" in page and "รุ่น #7" not in page
    today = local_today()
    page = client.get(f"/admin/audit?since={(today + timedelta(days=1)).isoformat()}")
    assert "บันทึกชั่วโมง #42" not in page.get_data(as_text=True)
    page = client.get(f"/admin/audit?since={today.isoformat()}&until={today.isoformat()}")
    assert "บันทึกชั่วโมง #42" in page.get_data(as_text=True)
    rows = read_csv(client.get("/admin/audit.csv?person=someone"))
    assert rows[0][:4] == ["เมื่อ", "เหตุการณ์", "ผู้ใช้", "การกระทำ"]
    assert [row[1:5] for row in rows[1:]] == [
        ["ใครบางคน ทดสอบ ส่งบันทึก บันทึกชั่วโมง #42", "someone@example.org", "ส่งบันทึกชั่วโมง", "บันทึกชั่วโมง"]
    ]
    sheet = read_xlsx(client.get("/admin/audit.xlsx?action=cohort.create"))
    assert [row[3] for row in sheet[1:]] == ["สร้างรุ่น"]
    assert client.get("/admin/audit?since=not-a-date").status_code == 200


def test_the_export_shows_local_time_like_the_screen(admin_client, admin, db):
    AuditEventFactory(
        actor=admin,
        action="cohort.create",
        target_type="cohorts",
        target_id=7,
        occurred_at=datetime(2026, 11, 30, 18, 5, 9, 123456, tzinfo=UTC),
    )
    rows = read_csv(admin_client.get("/admin/audit.csv"))
    assert rows[1][0] == "1 ธ.ค. 2569 เวลา 01:05 น."  # Bangkok is seven hours ahead
    english = read_csv(admin_client.get("/admin/audit.csv?lang=en", follow_redirects=True))
    assert english[1][0] == "1 Dec 2026, 01:05"


def test_the_seeds_curriculum_events_read_as_acts_of_the_system(admin_client, db, seed_copy):
    """The seed records without a person: the system did it, by a command on the server."""
    curriculum = seed_copy / "curriculum.yaml"
    edit_yaml(curriculum, lambda d: d["modules"][0].update(title_en="Learning City Basics"))
    seed_all(seed_copy)

    def new_version(data):
        data["modules"][4]["hours"] = 12
        data["tools"] = [t for t in data["tools"] if t["code"] != "gaming-simulation"]
        data["version"] = {"name_th": "CA 48 ชั่วโมง, 2570", "name_en": "CA 48 hours, 2027"}

    edit_yaml(curriculum, new_version)
    seed_all(seed_copy)
    db.session.commit()

    page = admin_client.get("/admin/audit").text
    rows = re.findall(
        r'class="audit-sentence">(.*?)</td>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>', page, re.S
    )
    assert [re.sub("<[^>]+>", "", sentence) for sentence, _, _ in rows] == [
        "ระบบ สร้างหลักสูตรฉบับใหม่ CA 48 ชั่วโมง, 2570",
        "ระบบ แก้ถ้อยคำในหลักสูตร CA 45 ชั่วโมง, 2567 โดยไม่เปลี่ยนฉบับ",
    ]
    assert [origin for _, _, origin in rows] == ["คำสั่งบนเซิร์ฟเวอร์"] * 2
    made, reworded = rows[0][1], rows[1][1]
    assert '<a href="/curriculum?version=2">CA 48 ชั่วโมง, 2570</a>' in rows[0][0]
    assert '<a href="/curriculum?version=1">CA 45 ชั่วโมง, 2567</a>' in rows[1][0]
    assert "ฉบับที่:</span> 2</li>" in made and "ชั่วโมงรวม:</span> 48</li>" in made
    # two changes read as a list, not as "before → after"
    changes = "module 5 hours: 9 -> 12; tool gaming-simulation removed"
    assert f"การเปลี่ยนแปลง:</span> {escape(changes)}</li>" in made
    assert "การเปลี่ยนแปลง:</span> module 1 title_en</li>" in reworded
    assert admin_client.get("/curriculum?version=2").status_code == 200

    english = admin_client.get("/admin/audit?lang=en", follow_redirects=True).text
    assert "The system created the curriculum version" in english
    assert "The system reworded the curriculum" in english
    assert english.count("A command on the server") == 2
    rows = read_csv(admin_client.get("/admin/audit.csv"))
    assert [(row[1], row[2], row[4], row[7]) for row in rows[1:]] == [
        (
            "The system created the curriculum version CA 48 hours, 2027",
            "",
            "Curriculum version",
            "A command on the server",
        ),
        (
            "The system reworded the curriculum CA 45 hours, 2024 in place",
            "",
            "Curriculum version",
            "A command on the server",
        ),
    ]
