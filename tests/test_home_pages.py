"""The signed-in homes: an instructor's desk per cohort (what waits, what comes next) and a
learner's timetable, with dates in the Buddhist era in Thai."""

from __future__ import annotations

from datetime import time, timedelta

from lca.core.dates import buddhist_year, format_day, local_today
from tests.factories import (
    AttendanceFactory,
    ClassSessionFactory,
    CohortFactory,
    EnrolmentFactory,
    FieldReportFactory,
    HourLogFactory,
    instructor_teaching,
    module,
)


def test_the_instructor_home_shows_what_waits_and_the_next_sessions(client, login, db):
    taught = instructor_teaching(learners=3)
    other = instructor_teaching(learners=1)  # not this instructor's
    cohort, today = taught.cohort, local_today()
    for enrolment in taught.enrolments[:2]:
        HourLogFactory(enrolment=enrolment)
    FieldReportFactory(enrolment=taught.enrolments[2])
    ClassSessionFactory(cohort=cohort, held_on=today + timedelta(days=3), place="หอประชุมเทศบาล")
    ClassSessionFactory(cohort=cohort, held_on=today, starts_at=time(13, 30), place="ศาลากลาง")
    held = ClassSessionFactory(cohort=cohort, held_on=today - timedelta(days=5))
    ClassSessionFactory(cohort=cohort, held_on=today - timedelta(days=9), place="ห้องสมุด")
    AttendanceFactory(class_session=held, enrolment=taught.enrolments[0])
    ClassSessionFactory(cohort=other.cohort, held_on=today + timedelta(days=1), place="ที่อื่น")
    login(taught.instructor)
    page = client.get("/instructor").get_data(as_text=True)
    assert cohort.code in page and other.cohort.code not in page
    # two logs, and the field log the report draws on
    assert f'href="/review?cohort={cohort.id}">บันทึกชั่วโมงรอตรวจ 3 รายการ' in page
    assert f'cohort={cohort.id}&amp;status=submitted">รายงานภาคสนามรอประเมิน 1 ฉบับ' in page
    assert "ยังไม่ได้บันทึกการเข้าเรียนของการเรียนที่จัดไปแล้ว 2 ครั้ง" in page  # today's too
    assert "หอประชุมเทศบาล" in page and "ศาลากลาง" in page and "ที่อื่น" not in page
    assert "ห้องสมุด" not in page  # held already: not "next"
    assert format_day(today + timedelta(days=3), language="th") in page
    assert str(buddhist_year(today)) in page
    assert page.index("ศาลากลาง") < page.index("หอประชุมเทศบาล")  # the nearest first
    assert "เวลา 13:30 น." in page


def test_the_instructor_home_in_english(client, login, db):
    taught = instructor_teaching(learners=1)
    HourLogFactory(enrolment=taught.enrolment)
    login(taught.instructor)
    page = client.get("/instructor?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "1 hour log waits for review" in page
    assert "No field report waits for grading" in page
    assert "No session is scheduled from today on." in page


def test_the_instructor_home_is_a_fixed_number_of_statements(client, login, db, count_statements):
    taught = instructor_teaching(learners=2)
    login(taught.instructor)
    client.get("/instructor")
    with count_statements() as few:
        client.get("/instructor")
    for _more in range(3):
        extra = CohortFactory(instructors=[taught.instructor])
        ClassSessionFactory(cohort=extra, held_on=local_today() + timedelta(days=2))
        FieldReportFactory(enrolment=EnrolmentFactory(cohort=extra))
    with count_statements() as many:
        client.get("/instructor")
    assert many.count == few.count


def test_a_learner_sees_the_timetable_of_their_cohort(learner_client, learner_enrolment, db):
    cohort, today = learner_enrolment.cohort, local_today()
    ClassSessionFactory(
        cohort=cohort, module=module(2), held_on=today + timedelta(days=4), place="หอประชุมเทศบาล"
    )
    ClassSessionFactory(cohort=cohort, held_on=today - timedelta(days=2), place="ศาลากลาง")
    ClassSessionFactory(held_on=today + timedelta(days=1), place="รุ่นอื่น")
    page = learner_client.get("/learner").get_data(as_text=True)
    assert "ตารางเรียนของฉัน" in page
    assert "หอประชุมเทศบาล" in page and "ศาลากลาง" in page and "รุ่นอื่น" not in page
    assert format_day(today + timedelta(days=4), language="th") in page
    assert "(จัดไปแล้ว)" in page
    assert page.index("ศาลากลาง") < page.index("หอประชุมเทศบาล")


def test_a_learner_in_two_cohorts_sees_each_timetable_named(learner_client, learner_enrolment, db):
    second = EnrolmentFactory(learner=learner_enrolment.learner)
    ClassSessionFactory(cohort=second.cohort, place="ห้องสมุดเมือง")
    page = learner_client.get("/learner").get_data(as_text=True)
    assert f"ตารางเรียนของรุ่น {learner_enrolment.cohort.code}" in page
    assert f"ตารางเรียนของรุ่น {second.cohort.code}" in page and "ห้องสมุดเมือง" in page
