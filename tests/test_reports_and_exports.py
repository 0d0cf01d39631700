"""Exports (CSV with BOM, XLSX, formulas kept as text), reports by cohort and city with their
charts and numbers, and the audit log."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from pythainlp.tokenize import word_tokenize
from sqlalchemy import select

from lca.models import City, LogStatus, ReportStatus
from lca.reports.charts import Bar, bar_chart, label_lines
from lca.reports.services import OF_COHORT, build_report
from tests.factories import (
    CertificateFactory,
    CohortFactory,
    EnrolmentFactory,
    FieldReportFactory,
    HourLogFactory,
    InstructorFactory,
    LearnerFactory,
    eligible_enrolment,
    field_tool,
    mechanism,
    module,
    multipart,
)

FORMULA_NAME = '=HYPERLINK("http://evil.example","ดูที่นี่")'


def read_csv(response) -> list[list[str]]:
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")  # Excel shows Thai only with the byte-order mark
    return list(csv.reader(io.StringIO(body[1:])))


def read_xlsx(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(response.data)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.fixture
def cohort_with_people(admin, db):
    cohort = CohortFactory()
    done = eligible_enrolment(cohort=cohort, full_name_th="ฟ้าใส ญาติดี", email="fa@example.org")
    CertificateFactory(enrolment=done)
    EnrolmentFactory(cohort=cohort, learner=LearnerFactory(full_name_th=FORMULA_NAME))
    return cohort


def test_progress_export_as_csv_and_xlsx(client, cohort_with_people, db):
    cohort = cohort_with_people
    rows = read_csv(client.get(f"/admin/exports/progress-{cohort.id}.csv"))
    assert rows[0][:3] == ["ชื่อ", "ชื่อภาษาอังกฤษ", "อีเมล"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["ฟ้าใส ญาติดี"][6:13] == ["6", "6", "6", "6", "9", "6", "6"]
    assert "'" + FORMULA_NAME in by_name  # quoted: the spreadsheet shows it, never runs it
    sheet = read_xlsx(client.get(f"/admin/exports/progress-{cohort.id}.xlsx"))
    names = [row[0] for row in sheet[1:]]
    assert "ฟ้าใส ญาติดี" in names and FORMULA_NAME in names
    workbook = load_workbook(
        io.BytesIO(client.get(f"/admin/exports/progress-{cohort.id}.xlsx").data)
    )
    formula_cell = next(
        row[0] for row in workbook.active.iter_rows(min_row=2) if row[0].value == FORMULA_NAME
    )
    assert formula_cell.data_type == "s"  # text, not a formula
    fa = next(row for row in sheet if row[0] == "ฟ้าใส ญาติดี")
    assert fa[6] == 6 and fa[-1] == "ใช้ได้"


def test_progress_of_every_learner_cohort_by_cohort(
    client, cohort_with_people, db, count_statements
):
    other = CohortFactory(starts_on=cohort_with_people.starts_on - timedelta(days=400))
    for number in range(3):
        EnrolmentFactory(cohort=other, learner=LearnerFactory(full_name_th=f"คนที่ {number}"))
    db.session.commit()
    rows = read_csv(client.get("/admin/exports/progress.csv"))
    assert rows[0][:3] == ["รุ่น", "หลักสูตร", "ชื่อ"]
    # the older cohort first, then the other; every learner once
    assert [row[0] for row in rows[1:]] == [other.code] * 3 + [cohort_with_people.code] * 2
    fa = next(row for row in rows if row[2] == "ฟ้าใส ญาติดี")
    assert fa[1] == "CA 45 ชั่วโมง, 2567"
    assert rows[0][8:15] == [f"กลุ่มวิชาที่ {n}" for n in range(1, 8)]
    assert fa[8:15] == ["6", "6", "6", "6", "9", "6", "6"] and fa[-1] == "ใช้ได้"
    assert "'" + FORMULA_NAME in [row[2] for row in rows]
    sheet = read_xlsx(client.get("/admin/exports/progress.xlsx"))
    assert len(sheet) == len(rows) and sheet[1][0] == other.code
    assert client.get("/admin/exports/progress.pdf").status_code == 404
    # The queries grow with the cohorts, not with the learners in them.
    with count_statements() as small:
        client.get("/admin/exports/progress.csv")
    for number in range(20):
        EnrolmentFactory(cohort=other, learner=LearnerFactory(full_name_th=f"อีกคน {number}"))
    db.session.commit()
    with count_statements() as large:
        assert len(read_csv(client.get("/admin/exports/progress.csv"))) == len(rows) + 20
    assert large.count == small.count


def test_hour_logs_and_certificate_register(client, cohort_with_people, db):
    rows = read_csv(client.get("/admin/exports/hour-logs.csv"))
    assert len(rows) == 1 + 7 + 1  # header, the graduate's seven logs, the report's field log
    cohort_rows = read_xlsx(
        client.get(f"/admin/exports/hour-logs.xlsx?cohort={cohort_with_people.id}")
    )
    assert len(cohort_rows) == len(rows)
    register = read_csv(client.get("/admin/exports/certificates.csv"))
    assert register[1][0].startswith("CA-") and register[1][3] == "ฟ้าใส ญาติดี"
    assert client.get("/admin/exports/certificates.pdf").status_code == 404
    # a cohort number beyond any INTEGER column: not found, not a database error
    assert client.get("/admin/exports/hour-logs.csv?cohort=2147483648").status_code == 404


def test_hour_log_export_shows_local_days_and_moments_in_words(client, admin, db):
    log = HourLogFactory(
        worked_on=date(2026, 11, 22),
        minutes=90,
        description="=cmd|' /C calc'!A0",
        place='=HYPERLINK("http://evil.example")',
    )
    log.submitted_at = datetime(2026, 11, 22, 17, 30, 5, 123456, tzinfo=UTC)
    db.session.flush()
    rows = read_csv(client.get(f"/admin/exports/hour-logs.csv?cohort={log.enrolment.cohort_id}"))
    header, line = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert line["วันที่"] == "22 พฤศจิกายน 2569"  # the Buddhist era, as on the screen
    assert line["ส่งเมื่อ"] == "23 พ.ย. 2569 เวลา 00:30 น."  # Bangkok time, to the minute
    assert line["ที่มา"] == "ผู้เรียนบันทึกเอง" and line["ชั่วโมง"] == "1.5"
    assert line["สถานที่"].startswith("'=")  # still never a formula
    sheet = read_xlsx(client.get(f"/admin/exports/hour-logs.xlsx?cohort={log.enrolment.cohort_id}"))
    cells = dict(zip(sheet[0], sheet[1], strict=True))
    assert cells["วันที่"] == "22 พฤศจิกายน 2569" and cells["ชั่วโมง"] == 1.5
    assert cells["ส่งเมื่อ"] == "23 พ.ย. 2569 เวลา 00:30 น."
    assert cells["สถานที่"] == '=HYPERLINK("http://evil.example")'  # text, not a formula
    english = read_csv(
        client.get(
            f"/admin/exports/hour-logs.csv?cohort={log.enrolment.cohort_id}&lang=en",
            follow_redirects=True,
        )
    )
    line = dict(zip(english[0], english[1], strict=True))
    assert (line["Day"], line["Sent"], line["Source"]) == (
        "22 November 2026",
        "23 Nov 2026, 00:30",
        "Logged by the learner",
    )
    assert header[0] == "บันทึก"


def test_cohort_report_counts_and_charts(client, login, db, count_statements):
    instructor = InstructorFactory()
    cohort = CohortFactory(instructors=[instructor])
    done = eligible_enrolment(cohort=cohort)
    CertificateFactory(enrolment=done)
    eligible_enrolment(cohort=cohort)  # completed, no certificate yet
    withdrawn = EnrolmentFactory(cohort=cohort)
    withdrawn.status, withdrawn.withdrawn_at = withdrawn.status.WITHDRAWN, withdrawn.enrolled_at
    studying = EnrolmentFactory(cohort=cohort)
    HourLogFactory(
        enrolment=studying,
        module=module(5),
        minutes=90,
        status=LogStatus.APPROVED,
        mechanism=mechanism("communication"),
        tools=[field_tool("design-thinking"), field_tool("gaming-simulation")],
        worked_on=studying.field_window_starts_on,
    )
    db.session.flush()
    login(instructor)
    page = client.get(f"/reports/cohorts/{cohort.id}").get_data(as_text=True)
    assert "<li><strong>4</strong> ลงทะเบียน</li>" in page
    assert "<li><strong>3</strong> กำลังเรียน</li>" in page
    assert "<li><strong>1</strong> ถอนชื่อ</li>" in page
    assert "<li><strong>2</strong> ผ่านเกณฑ์ครบทุกข้อ</li>" in page
    assert "<li><strong>1</strong> วุฒิบัตรที่ออกแล้ว</li>" in page
    assert page.count('role="img"') == 4  # hours, mechanisms, tools, the cohort's funnel
    assert "ชั่วโมงที่อนุมัติแล้วรายกลุ่มวิชา" in page
    # Field hours: the two eligible learners' 9 h (no mechanism) and the 1.5 h above.
    cell = '</td><td data-label="ชั่วโมงที่อนุมัติแล้ว" class="num">1.5<'
    assert ">กลไกการสื่อสารและขยายผล" + cell in page
    assert ">กระบวนการคิดเชิงออกแบบ (Design Thinking)" + cell in page
    other = CohortFactory(instructors=[InstructorFactory()])
    assert client.get(f"/reports/cohorts/{other.id}").status_code == 403
    assert client.get(f"/reports/cities/{cohort.host_city_id}").status_code == 403


def test_the_funnel_counts_each_step_on_its_own(client, admin, db):
    cohort = CohortFactory()
    eligible_enrolment(cohort=cohort)  # every step but the certificate
    # the field report passed while some hours still wait: counted as passed all the same
    FieldReportFactory(enrolment=EnrolmentFactory(cohort=cohort), status=ReportStatus.PASSED)
    report = build_report(OF_COHORT, {"cohort_id": cohort.id})
    funnel = report.funnels[0]
    assert dict(funnel.steps) == {
        "enrolled": 2,
        "active": 2,
        "hours_complete": 1,
        "field_passed": 2,
        "certified": 0,
    }
    assert report.completed == 1  # every requirement: hours and the field report
    page = client.get(f"/reports/cohorts/{cohort.id}").get_data(as_text=True)
    assert "แต่ละขั้นนับผู้เรียนทุกคนที่ผ่านขั้นนั้น" in page
    row = re.search(r"<tr><td data-label=\"รุ่น\">[^<]+</td>(.*?)</tr>", page).group(1)
    assert re.findall(r'class="num"[^>]*>(\d+)<', row) == ["2", "2", "1", "2", "0"]


def test_long_chart_labels_wrap_between_words_never_cut(client, admin, db):
    title = "การพัฒนาเมืองแห่งการเรียนรู้อย่างยั่งยืนและการมีส่วนร่วมของภาคประชาชน"
    lines = label_lines(title)
    assert len(lines) > 1 and "".join(lines) == title  # all of it, nothing cut off
    words = word_tokenize(title, engine="newmm")
    ends = set(itertools.accumulate(len(word) for word in words))
    assert set(itertools.accumulate(len(line) for line in lines)) <= ends  # at word ends
    assert label_lines("Learning city development and citizen participation") == (
        "Learning city development and",
        "citizen participation",
    )
    chart = str(bar_chart("ชั่วโมง", [Bar(title, 5, "5"), Bar("สั้น", 1, "1")]))
    assert "…" not in chart
    assert [f">{line}</tspan>" in chart for line in lines] == [True] * len(lines)
    page = client.get(f"/reports/cohorts/{CohortFactory().id}").get_data(as_text=True)
    assert "…" not in page


def test_the_report_runs_the_same_statements_however_many_learners(
    client, admin, db, count_statements
):
    def statements(learners: int) -> int:
        cohort = CohortFactory()
        for _ in range(learners):
            enrolment = EnrolmentFactory(cohort=cohort)
            HourLogFactory(enrolment=enrolment, module=module(1), status=LogStatus.APPROVED)
            HourLogFactory(
                enrolment=enrolment,
                module=module(5),
                status=LogStatus.APPROVED,
                mechanism=mechanism(),
                tools=[field_tool()],
                worked_on=enrolment.field_window_starts_on,
            )
        with count_statements() as counter:
            assert client.get(f"/reports/cohorts/{cohort.id}").status_code == 200
        return counter.count

    few, many = statements(5), statements(40)
    print(f"\nreport statements with 5 learners: {few}; with 40: {many}")
    assert few == many


def test_city_report_counts_learners_from_the_city(client, admin, db):
    city_learner = LearnerFactory()
    EnrolmentFactory(learner=city_learner)
    EnrolmentFactory(learner=LearnerFactory(city=city_learner.city))
    EnrolmentFactory()  # another city
    page = client.get(f"/reports/cities/{city_learner.city_id}").get_data(as_text=True)
    assert "<li><strong>2</strong> ลงทะเบียน</li>" in page
    assert client.get("/reports/").status_code == 200


FIRST_NAMES = ["น้ำฝน", "ฟ้าใส", "ปู่ทอง", "ศักดิ์ชัย", "ญาณี", "ฤทัย", "กุ้งนาง", "ปั้นจั่น", "อื้อฉาว", "ฐิติ"]
SURNAMES = [
    "ใจดี",
    "ศรีสุข",
    "ฤๅษีวงศ์",
    "น้ำใจงาม",
    "ทองคำ",
    "ปัญญาดี",
    "ญาติมิตร",
    "กล้าหาญ",
    "บุญมี",
    "แก้วใส",
]
FIRST_NAMES += [name + "พร" for name in FIRST_NAMES]


def test_an_admin_imports_200_thai_learners_exports_them_and_reads_the_city_report(
    client, admin, db
):
    """The issue's finish line: a Thai CSV as Thai Excel saves it (cp874), 200 learners from two
    cities, imported; the progress export opens as XLSX with Thai intact; the city report counts
    them and draws its charts."""
    cohort = CohortFactory()
    names = [f"{first} {last}" for first in FIRST_NAMES for last in SURNAMES]
    lines = ["อีเมล,ชื่อ-นามสกุล,เมือง,หน่วยงาน"] + [
        f"learner{n:03}@city.example.org,{name},{'พะเยา' if n < 120 else 'เชียงราย'},เทศบาล"
        for n, name in enumerate(names)
    ]
    data = ("\r\n".join(lines) + "\r\n").encode("cp874")
    preview = client.post(
        f"/admin/cohorts/{cohort.id}/import",
        **multipart({"file": (io.BytesIO(data), "รายชื่อ.csv")}),
    ).get_data(as_text=True)
    assert "นำเข้าผู้เรียนได้ 200 คน: บัญชีใหม่ 200 บัญชี" in preview
    done = client.post(f"/admin/cohorts/{cohort.id}/import/confirm").get_data(as_text=True)
    assert "นำเข้าผู้เรียน 200 คนเข้ารุ่น" in done

    sheet = read_xlsx(client.get(f"/admin/exports/progress-{cohort.id}.xlsx"))
    assert sheet[0][:3] == ["ชื่อ", "ชื่อภาษาอังกฤษ", "อีเมล"]
    assert sorted(row[0] for row in sheet[1:]) == sorted(names)
    assert {row[0] for row in sheet[1:]} >= {"ฤทัยพร ฤๅษีวงศ์", "น้ำฝน ญาติมิตร", "ปั้นจั่นพร น้ำใจงาม"}

    phayao = db.session.scalar(select(City).where(City.code == "phayao"))
    report = client.get(f"/reports/cities/{phayao.id}").get_data(as_text=True)
    assert "<li><strong>120</strong> ลงทะเบียน</li>" in report
    assert "<li><strong>120</strong> กำลังเรียน</li>" in report
    assert report.count('role="img"') >= 2  # hours by module and the cohort's funnel, as SVG
    assert "<svg" in report and "<table" in report  # the picture and the numbers
