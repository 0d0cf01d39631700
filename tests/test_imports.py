"""Importing learners from the spreadsheets cities send: every row checked and shown first,
then all or nothing; Thai names intact in every encoding Excel writes."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from lca.auth.sessions import open_sessions, start_session
from lca.models import AuditEvent, Enrolment, User
from tests.factories import CohortFactory, EnrolmentFactory, LearnerFactory, count_rows, multipart

HEADER = "email,full_name_th,full_name_en,city,organisation"
ROWS = [
    "somsri@example.org,สมศรี ใจดี,Somsri Jaidee,พะเยา,เทศบาลเมืองพะเยา",
    "namfon@example.org,น้ำฝน ปู่ทอง,Namfon Puthong,Chiang Rai,โรงเรียนบ้านดอย",
    "sakchai@example.org,ศักดิ์ชัย ฤทธิ์เดช,,ยะลา,",
]


def csv_bytes(rows=ROWS, header=HEADER, encoding="utf-8", bom=False) -> bytes:
    text = "\r\n".join([header, *rows]) + "\r\n"
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows=ROWS, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for line in [header, *rows]:
        sheet.append(line.split(","))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client, cohort, data: bytes, name="learners.csv"):
    return client.post(
        f"/admin/cohorts/{cohort.id}/import", **multipart({"file": (io.BytesIO(data), name)})
    )


def problems(page: str) -> list[str]:
    return re.findall(
        r"<li>(.*?)</li>",
        "".join(re.findall(r'<ul class="compact error-message">(.*?)</ul>', page, re.S)),
    )


@pytest.fixture
def cohort(admin, db):
    return CohortFactory()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf8.csv", csv_bytes()),
        ("bom.csv", csv_bytes(bom=True)),
        ("thai-windows.csv", csv_bytes(encoding="cp874")),
        ("excel.xlsx", xlsx_bytes()),
        (
            "semicolons.csv",
            csv_bytes([r.replace(",", ";") for r in ROWS], HEADER.replace(",", ";")),
        ),
    ],
)
def test_import_in_every_format_keeps_thai_names(client, cohort, db, name, data):
    page = upload(client, cohort, data, name).get_data(as_text=True)
    assert "นำเข้าผู้เรียนได้ 3 คน: บัญชีใหม่ 3 บัญชี" in page, problems(page)
    assert "น้ำฝน ปู่ทอง" in page and count_rows(User) == 1  # only the admin: nothing written
    done = client.post(f"/admin/cohorts/{cohort.id}/import/confirm")
    text = done.get_data(as_text=True)
    assert "นำเข้าผู้เรียน 3 คนเข้ารุ่น" in text
    links = re.findall(r"/set-password/([\w-]+)", text)
    assert len(links) == 3
    learner = db.session.scalar(select(User).where(User.email == "namfon@example.org"))
    assert (learner.full_name_th, learner.city.code) == ("น้ำฝน ปู่ทอง", "chiang-rai")
    assert learner.organisation == "โรงเรียนบ้านดอย" and learner.setup_token_hash
    enrolled = db.session.scalar(select(func.count()).where(Enrolment.cohort_id == cohort.id))
    assert enrolled == 3
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "cohort.import"))
    assert event.details["rows"] == 3 and event.details["new_accounts"] == 3


def test_a_set_password_link_works_once(app, client, cohort, db, field_error):
    upload(client, cohort, csv_bytes(ROWS[:1]))
    page = client.post(f"/admin/cohorts/{cohort.id}/import/confirm").get_data(as_text=True)
    token = re.search(r"/set-password/([\w-]+)", page).group(1)
    other = app.test_client()
    assert "ตั้งรหัสผ่านของคุณ" in other.get(f"/set-password/{token}").get_data(as_text=True)
    weak = other.post(
        f"/set-password/{token}", data={"new_password": "short", "confirm_password": "short"}
    )
    assert "ใช้อย่างน้อย 10 ตัวอักษร" in field_error(weak.get_data(as_text=True), "new_password")
    done = other.post(
        f"/set-password/{token}",
        data={"new_password": "ดอกไม้บานทุกฤดู", "confirm_password": "ดอกไม้บานทุกฤดู"},
    )
    assert done.headers["Location"] == "/learner"
    notice = other.get("/learner")  # a first sign-in: the privacy notice, once
    assert notice.headers["Location"] == "/privacy?next=/learner"
    assert other.post("/privacy/seen", data={"next": "/learner"}).headers["Location"] == "/learner"
    assert other.get("/learner").status_code == 200
    assert other.get(f"/set-password/{token}").status_code == 404  # used up
    fresh = app.test_client()
    response = fresh.post(
        "/login", data={"email": "somsri@example.org", "password": "ดอกไม้บานทุกฤดู"}
    )
    assert response.headers["Location"] == "/learner"
    assert fresh.get("/set-password/not-a-token").status_code == 404


def test_setting_a_password_keeps_the_language_chosen_on_the_page(app, client, cohort, db):
    upload(client, cohort, csv_bytes(ROWS[:1]))
    page = client.post(f"/admin/cohorts/{cohort.id}/import/confirm").get_data(as_text=True)
    token = re.search(r"/set-password/([\w-]+)", page).group(1)
    other = app.test_client()
    page = other.get(f"/set-password/{token}?lang=en").get_data(as_text=True)
    assert "Choose your password" in page
    other.post(
        f"/set-password/{token}",
        data={"new_password": "ดอกไม้บานทุกฤดู", "confirm_password": "ดอกไม้บานทุกฤดู"},
    )
    # a first sign-in: the privacy notice comes first, with the welcome
    page = other.get("/learner", follow_redirects=True).get_data(as_text=True)
    assert "Your password is set. Welcome!" in page and "Privacy notice" in page
    learner = db.session.scalar(select(User).where(User.email == "somsri@example.org"))
    assert learner.preferred_language == "en"


def test_every_row_problem_is_shown_and_nothing_is_written(client, cohort, db):
    LearnerFactory(email="taken@example.org", full_name_th="คนเดิม ชื่อจริง")
    EnrolmentFactory(cohort=cohort, learner=LearnerFactory(email="inside@example.org"))
    from tests.factories import InstructorFactory

    InstructorFactory(email="teacher@example.org")
    rows = [
        "not-an-email,ชื่อ ถูกต้อง,,,",
        "missing@example.org,,,,",
        "dup@example.org,คนแรก ซ้ำ,,,",
        "DUP@example.org,คนที่สอง ซ้ำ,,,",
        "TAKEN@Example.org,ชื่ออื่น ไม่ตรง,,,",
        "INSIDE@example.org,ใครก็ได้,,,",
        "teacher@example.org,ครู ผู้สอน,,,",
        "city@example.org,เมือง ผิด,,ชียงราย,",
        'formula@example.org,=HYPERLINK("http://evil"),,,',
        "at@example.org,@SUM(A1),,,",
        "stray@example.org,คน ปกติ,,พะเยา,เทศบาล,เกิน",
    ]
    before = (count_rows(User), count_rows(Enrolment), count_rows(AuditEvent))
    page = upload(client, cohort, csv_bytes(rows)).get_data(as_text=True)
    found = problems(page)
    assert "not-an-email ไม่ใช่อีเมลที่ถูกต้อง" in found
    assert "ไม่มีชื่อภาษาไทย" in found
    assert "อีเมลนี้ซ้ำกับแถวที่ 4" in found and "อีเมลนี้ซ้ำกับแถวที่ 5" in found
    assert "taken@example.org เป็นอีเมลของ คนเดิม ชื่อจริง อยู่แล้ว โปรดตรวจอีเมลหรือชื่ออีกครั้ง" in found
    assert "inside@example.org ลงทะเบียนในรุ่นนี้อยู่แล้ว" in found
    assert "teacher@example.org เป็นบัญชีที่ไม่ใช่บัญชีผู้เรียน" in found
    assert "ไม่มีเมืองชื่อ ชียงราย หมายถึง เชียงราย หรือไม่" in found
    assert any("ดูเหมือนสูตรในตารางคำนวณ" in p and "HYPERLINK" in p for p in found)
    assert any("@SUM(A1) ดูเหมือนสูตร" in p for p in found)
    assert any("แถวนี้มี 6 ช่อง แต่หัวตารางมี 5 ช่อง" in p for p in found)
    assert "มี 11 แถวที่มีปัญหา" in page and "import/confirm" not in page
    assert (count_rows(User), count_rows(Enrolment), count_rows(AuditEvent)) == before


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.csv", "ไฟล์ว่างเปล่า"),
        (b"\r\n \r\n", "blank.csv", "ไฟล์ว่างเปล่า"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "photo.csv", "ไฟล์นี้ไม่ใช่ CSV หรือ XLSX"),
        (b"%PDF-1.4 something", "report.xlsx", "ไฟล์นี้ไม่ใช่ CSV หรือ XLSX"),
        (b"PK\x03\x04" + b"\x00" * 100, "broken.xlsx", "ไม่ใช่ CSV หรือ XLSX"),
        (b"a,b\x00c\n", "binary.csv", "ไฟล์นี้ไม่ใช่ CSV หรือ XLSX"),
        (b"x" * (20 * 1024 * 1024), "huge.csv", "ไฟล์ใหญ่เกิน 5 MB"),
        (csv_bytes(header="email,name"), "header.csv", "แถวหัวตารางไม่มีคอลัมน์ full_name_th"),
        (csv_bytes(header="full_name_th,city"), "noemail.csv", "ไม่มีคอลัมน์ email"),
    ],
)
def test_bad_files_are_refused_whole(client, cohort, db, data, name, message, field_error):
    before = (count_rows(User), count_rows(Enrolment))
    page = upload(client, cohort, data, name).get_data(as_text=True)
    assert message in field_error(page, "file")
    assert (count_rows(User), count_rows(Enrolment)) == before


def test_no_file_at_all(client, cohort, db, field_error):
    page = client.post(f"/admin/cohorts/{cohort.id}/import", data={}).get_data(as_text=True)
    assert "เลือกไฟล์ที่จะนำเข้า" in field_error(page, "file")


def test_five_thousand_rows_import(client, cohort, db):
    rows = [
        f"person{n}@bulk.example.org,ผู้เรียน ลำดับที่{n},Learner {n},พะเยา,เทศบาล" for n in range(5000)
    ]
    page = upload(client, cohort, csv_bytes(rows)).get_data(as_text=True)
    assert "นำเข้าผู้เรียนได้ 5000 คน" in page
    done = client.post(f"/admin/cohorts/{cohort.id}/import/confirm")
    assert "นำเข้าผู้เรียน 5000 คนเข้ารุ่น" in done.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(Enrolment.cohort_id == cohort.id)) == 5000


def test_confirm_checks_again_and_refuses_what_changed(client, cohort, db):
    upload(client, cohort, csv_bytes(ROWS[:2]))
    EnrolmentFactory(
        cohort=cohort, learner=LearnerFactory(email="somsri@example.org", full_name_th="สมศรี ใจดี")
    )
    before = count_rows(Enrolment)
    page = client.post(f"/admin/cohorts/{cohort.id}/import/confirm").get_data(as_text=True)
    assert "somsri@example.org ลงทะเบียนในรุ่นนี้อยู่แล้ว" in problems(page)
    assert count_rows(Enrolment) == before


def test_confirm_without_a_preview_is_refused(client, cohort, db, flashes):
    page = client.post(f"/admin/cohorts/{cohort.id}/import/confirm", follow_redirects=True)
    assert "โปรดอัปโหลดไฟล์อีกครั้ง" in "".join(flashes(page.get_data(as_text=True)))


def test_existing_learners_are_enrolled_as_they_are(client, cohort, db):
    learner = LearnerFactory(email="back@example.org", full_name_th="กลับมา เรียนต่อ")
    withdrawn = EnrolmentFactory(
        cohort=cohort,
        learner=LearnerFactory(email="again@example.org", full_name_th="ถอนแล้ว กลับมา"),
    )
    withdrawn.status, withdrawn.withdrawn_at = withdrawn.status.WITHDRAWN, withdrawn.enrolled_at
    db.session.flush()
    rows = ["Back@Example.org,กลับมา เรียนต่อ,,,", "again@example.org,ถอนแล้ว กลับมา,,,"]
    page = upload(client, cohort, csv_bytes(rows)).get_data(as_text=True)
    assert "บัญชีใหม่ 0 บัญชี บัญชีเดิม 2 บัญชี" in page
    client.post(f"/admin/cohorts/{cohort.id}/import/confirm")
    db.session.expire_all()
    assert learner.setup_token_hash is None
    statuses = {
        e.learner.email: e.status.value
        for e in db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id))
    }
    assert statuses == {"back@example.org": "active", "again@example.org": "active"}


def test_templates_download(client, admin, db):
    csv_template = client.get("/admin/import-template.csv")
    assert (
        csv_template.data.startswith(b"\xef\xbb\xbf") and "สมศรี ใจดี" in csv_template.data.decode()
    )
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(client.get("/admin/import-template.xlsx").data))
    assert [c.value for c in workbook.active[1]] == HEADER.split(",")
    assert client.get("/admin/import-template.doc").status_code == 404


def test_the_command_line_import(app, db, tmp_path):
    cohort = CohortFactory()
    db.session.commit()
    runner = app.test_cli_runner()
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(csv_bytes(encoding="cp874"))
    bad.write_bytes(csv_bytes(["broken,,,,"]))
    refused = runner.invoke(args=["lca", "learners", "import", "--cohort", cohort.code, str(bad)])
    assert (
        refused.exit_code == 1
        and "row 2" in refused.output
        and "nothing was imported" in refused.output
    )
    dry = runner.invoke(
        args=["lca", "learners", "import", "--cohort", cohort.code, "--dry-run", str(good)]
    )
    assert dry.exit_code == 0 and "3 learners would be imported" in dry.output
    assert count_rows(Enrolment) == 0
    done = runner.invoke(args=["lca", "learners", "import", "--cohort", cohort.code, str(good)])
    assert done.exit_code == 0, done.output
    assert done.output.count("/set-password/") == 3 and "3 learners imported" in done.output
    assert (
        db.session.scalar(select(User.full_name_th).where(User.email == "namfon@example.org"))
        == "น้ำฝน ปู่ทอง"
    )
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert (
        runner.invoke(
            args=["lca", "learners", "import", "--cohort", cohort.code, str(empty)]
        ).exit_code
        != 0
    )


def test_admin_resets_a_password(app, client, admin, db, flashes):
    learner = LearnerFactory()
    start_session(learner)  # signed in on some device
    page = client.post(f"/admin/users/{learner.id}/reset-password").get_data(as_text=True)
    password = re.search(r'<p class="one-time-password"><code>(.*?)</code>', page).group(1)
    db.session.refresh(learner)
    assert learner.must_change_password and open_sessions(learner) == []
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_reset"))
    other = app.test_client()
    response = other.post("/login", data={"email": learner.email, "password": password})
    assert other.get(response.headers["Location"]).headers["Location"] == "/account/password"
    self_reset = client.post(f"/admin/users/{admin.id}/reset-password", follow_redirects=True)
    assert "เปลี่ยนรหัสผ่านของคุณเองได้ที่หน้าบัญชีของฉัน" in "".join(
        flashes(self_reset.get_data(as_text=True))
    )


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(client, cohort, db):
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))
    assert len(out.getvalue()) < 100_000  # tiny on the wire
    page = upload(client, cohort, out.getvalue(), "learners.xlsx").get_data(as_text=True)
    assert "ไฟล์ XLSX นี้ใหญ่เกินไปเมื่อแตกไฟล์ออก" in page
    assert count_rows(User) == 1
