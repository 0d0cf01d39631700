"""Demo data: a cohort with the four demo accounts and a dozen more learners (idempotent)."""

from __future__ import annotations

import io
from datetime import time, timedelta

import pyotp
from PIL import Image, ImageDraw
from sqlalchemy import select

from lca.assessment.services import (
    ReportDraft,
    Score,
    current_rubric,
    field_logs_for_report,
    grade_report,
    report_of,
    submit_report,
)
from lca.auth.password_policy import DEMO_PASSWORD
from lca.auth.second_factor import must_have_second_factor
from lca.auth.services import Profile, create_user
from lca.cohorts.services import assign_instructor, enrol_learner, instructor_ids
from lca.core.dates import local_today
from lca.core.db import db, utcnow
from lca.core.uploads import Upload
from lca.curriculum.services import current_version, modules_of
from lca.hours.attendance import Mark, SessionPlan, record_attendance, schedule_session
from lca.hours.services import (
    LogEntry,
    approve_log,
    reject_log,
    return_log,
    submit_log,
    withdraw_log,
)
from lca.models import (
    AttendanceStatus,
    City,
    ClassSession,
    Cohort,
    Enrolment,
    FieldMechanism,
    FieldTool,
    GradeResult,
    Role,
    User,
)

DEMO_COHORT = "CA-2569-01"
#: the demo staff's authenticator-app key, published like the demo password (demo data only):
#: add it to an authenticator app, or compute the code with `oathtool --totp -b <key>`
DEMO_TOTP_SECRET = "LCADEMOSTAFFKEYFORPHAYAO2567CITY"  # noqa: S105 - published demo data

#: email, Thai name, English name, role, city code, organisation
PEOPLE = [
    ("admin@example.org", "วรรณา ศรีสุข", "Wanna Srisuk", Role.ADMIN, "phayao", "มหาวิทยาลัยพะเยา"),
    (
        "instructor@example.org",
        "ประเสริฐ แก้วมณี",
        "Prasert Kaewmanee",
        Role.INSTRUCTOR,
        "phayao",
        "มหาวิทยาลัยพะเยา",
    ),
    (
        "learner@example.org",
        "กมลชนก บุญมา",
        "Kamonchanok Boonma",
        Role.LEARNER,
        "phayao",
        "เทศบาลเมืองพะเยา",
    ),
    (
        "graduate@example.org",
        "ธนากร ศักดิ์สิทธิ์",
        "Thanakorn Saksit",
        Role.LEARNER,
        "chiang-rai",
        "เทศบาลนครเชียงราย",
    ),
    (
        "learner01@example.org",
        "น้ำฝน ปู่ทอง",
        "Namfon Puthong",
        Role.LEARNER,
        "chiang-mai",
        "เทศบาลนครเชียงใหม่",
    ),
    (
        "learner02@example.org",
        "ศักดิ์ชัย ฤทธิ์เดช",
        "Sakchai Ritdet",
        Role.LEARNER,
        "phuket",
        "เทศบาลนครภูเก็ต",
    ),
    (
        "learner03@example.org",
        "ฟ้าใส กุ้งทอง",
        "Fasai Kungthong",
        Role.LEARNER,
        "chachoengsao",
        "โรงเรียนเบญจมราชรังสฤษฎิ์",
    ),
    (
        "learner04@example.org",
        "ปิยะนุช ญาติดี",
        "Piyanuch Yatdee",
        Role.LEARNER,
        "sukhothai",
        "เทศบาลเมืองสุโขทัยธานี",
    ),
    (
        "learner05@example.org",
        "อื้อจิต ปั้นงาม",
        "Uejit Pan-ngam",
        Role.LEARNER,
        "hat-yai",
        "เทศบาลนครหาดใหญ่",
    ),
    (
        "learner06@example.org",
        "สมพงษ์ ใจกล้า",
        "Sompong Jaikla",
        Role.LEARNER,
        "bangkok",
        "สำนักงานเขตคลองเตย",
    ),
    (
        "learner07@example.org",
        "อรุณี ขอนแก่นงาม",
        "Arunee Khonkaen-ngam",
        Role.LEARNER,
        "khon-kaen",
        "เทศบาลนครขอนแก่น",
    ),
    (
        "learner08@example.org",
        "ฮาซัน ดือราแม",
        "Hasan Duerame",
        Role.LEARNER,
        "yala",
        "เทศบาลนครยะลา",
    ),
    (
        "learner09@example.org",
        "บุษบา เชียงแสน",
        "Busaba Chiangsaen",
        Role.LEARNER,
        "chiang-rai",
        "กลุ่มเยาวชนรักษ์เชียงแสน",
    ),
    (
        "learner10@example.org",
        "วิทยา ดอยคำ",
        "Witthaya Doikham",
        Role.LEARNER,
        "phayao",
        "โรงเรียนพะเยาพิทยาคม",
    ),
    (
        "learner11@example.org",
        "จันทร์เพ็ญ ทะเลงาม",
        "Chanpen Thalengam",
        Role.LEARNER,
        "phuket",
        "ชุมชนเมืองเก่าภูเก็ต",
    ),
    (
        "learner12@example.org",
        "ณัฐพล ศรีสวัสดิ์",
        "Nattapon Srisawat",
        Role.LEARNER,
        "khon-kaen",
        "มหาวิทยาลัยขอนแก่น",
    ),
]


def _cities() -> dict[str, City]:
    return {city.code: city for city in db.session.scalars(select(City))}


def ensure_person(profile: Profile) -> User:
    """The demo account with this e-mail, created with the demo password if missing."""
    user = db.session.scalar(select(User).where(User.email == profile.email))
    if user is None:
        user, _ = create_user(profile, DEMO_PASSWORD, actor=None)
        if must_have_second_factor(user):  # staff sign in with the published app key
            user.totp_secret, user.totp_confirmed_at = DEMO_TOTP_SECRET, utcnow()
    return user


def ensure_demo_cohort(host: City) -> Cohort:
    """The demo cohort, started about five months ago with the field window under way."""
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == DEMO_COHORT))
    if cohort is None:
        starts_on = local_today() - timedelta(days=150)
        cohort = Cohort(
            code=DEMO_COHORT,
            host_city=host,
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=270),
            field_starts_on=starts_on + timedelta(days=30),
            field_window_months=6,
            curriculum_version=current_version(),
        )
        db.session.add(cohort)
        db.session.flush()
    return cohort


def load_demo() -> list[str]:
    """Create what is missing of the demo; running it again changes nothing."""
    lines = _load_people_and_cohort()
    return lines + load_demo_hours() + load_demo_reports()


def _load_people_and_cohort() -> list[str]:
    cities = _cities()
    if not cities:
        raise RuntimeError("Load the seed data first: flask --app wsgi lca seed")
    people = [
        ensure_person(Profile(email, th, en, role, cities.get(city), organisation))
        for email, th, en, role, city, organisation in PEOPLE
    ]
    cohort = ensure_demo_cohort(cities["phayao"])
    for person in people:
        if person.is_instructor and person.id not in instructor_ids(cohort):
            assign_instructor(cohort, person, actor=None)
        if person.is_learner and not _is_enrolled(cohort, person):
            enrol_learner(cohort, person, actor=None)
    db.session.flush()
    return [
        f"{cohort.code}: {len(people)} demo accounts, password {DEMO_PASSWORD}",
        f"demo staff's second factor: authenticator-app key {DEMO_TOTP_SECRET} "
        f"(code now: {pyotp.TOTP(DEMO_TOTP_SECRET).now()}; "
        f"`oathtool --totp -b {DEMO_TOTP_SECRET}`)",
    ]


def _is_enrolled(cohort: Cohort, learner: User) -> bool:
    query = select(Enrolment.id).where(
        Enrolment.cohort_id == cohort.id, Enrolment.learner_id == learner.id
    )
    return db.session.scalar(query) is not None


def demo_photo(colour: str, label: int) -> bytes:
    """A small made-up JPEG standing in for a photo from the field."""
    image = Image.new("RGB", (640, 480), colour)
    draw = ImageDraw.Draw(image)
    for step in range(0, 640, 80):
        draw.rectangle([step, 300 + (step + label * 40) % 120, step + 60, 470], fill="white")
    draw.ellipse([40, 40, 160, 160], fill="gold")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def _demo_cohort() -> Cohort:
    """The demo cohort, which the demo's hours and reports belong to."""
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == DEMO_COHORT))
    if cohort is None:
        raise RuntimeError(f"Load the demo accounts and cohort {DEMO_COHORT} first.")
    return cohort


def load_demo_hours() -> list[str]:
    """Sessions with attendance and logs in every state, once: the graduate has every module's
    hours approved, the learner is part-way with logs pending, returned and rejected."""
    cohort = _demo_cohort()
    already = db.session.scalar(select(ClassSession.id).where(ClassSession.cohort_id == cohort.id))
    if already is not None:
        return []
    people = {u.email: u for u in db.session.scalars(select(User))}
    instructor = people["instructor@example.org"]
    learner = people["learner@example.org"]
    enrolments = {
        e.learner.email: e
        for e in db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id))
    }
    modules = {m.number: m for m in modules_of(cohort.curriculum_version_id)}
    mechanisms = {m.code: m for m in db.session.scalars(select(FieldMechanism))}
    tools = {t.code: t for t in db.session.scalars(select(FieldTool))}

    # One six-hour session for each classroom, forum and festival module, a week apart.
    for week, number in enumerate((1, 2, 3, 4, 6, 7), start=1):
        module = modules[number]
        session = schedule_session(
            cohort,
            SessionPlan(
                module,
                cohort.starts_on + timedelta(days=7 * week),
                time(9, 0),
                module.hours * 60,
                "หอประชุมมหาวิทยาลัยพะเยา",
            ),
            instructor,
        )
        marks = []
        for email, enrolment in enrolments.items():
            status, minutes = AttendanceStatus.PRESENT, None
            if email == "learner@example.org" and number == 4:
                status, minutes = AttendanceStatus.LATE, 240
            elif email == "learner@example.org" and number in (6, 7):
                status = AttendanceStatus.ABSENT if number == 6 else AttendanceStatus.EXCUSED
            elif email.startswith("learner0") and number == 7 and int(email[8]) % 3 == 0:
                status = AttendanceStatus.ABSENT
            marks.append(Mark(enrolment.id, status, minutes))
        record_attendance(session, marks, instructor)

    start = enrolments["graduate@example.org"].field_window_starts_on
    field = modules[5]

    def field_log(email, offset, hours, text, mechanism, tool_codes, place, colour):
        entry = LogEntry(
            field,
            start + timedelta(days=offset),
            int(hours * 60),
            text,
            mechanisms[mechanism],
            [tools[c] for c in tool_codes],
            place,
        )
        photo = Upload(f"field-{offset}.jpg", demo_photo(colour, offset))
        return submit_log(enrolments[email], entry, [photo], people[email])

    for offset, hours, text, mechanism, tool_codes, place, colour in (
        (
            5,
            3,
            "ชวนภาคีในเมืองเชียงรายทำแผนที่ทรัพยากรการเรียนรู้ร่วมกัน",
            "process",
            ["participatory-mapping"],
            "ชุมชนริมกก เชียงราย",
            "seagreen",
        ),
        (
            20,
            3,
            "จัดเวิร์กช็อปคิดเชิงออกแบบกับเยาวชนเพื่อออกแบบแหล่งเรียนรู้ใหม่",
            "tools-and-learning",
            ["design-thinking"],
            "ศูนย์เยาวชนเทศบาลนครเชียงราย",
            "steelblue",
        ),
        (
            35,
            3,
            "นำเสนอผลงานในเวทีเสวนาเมืองแห่งการเรียนรู้และเผยแพร่ทางเพจของเทศบาล",
            "communication",
            ["gaming-simulation", "other"],
            "ลานวัฒนธรรมเชียงราย",
            "darkorange",
        ),
    ):
        approve_log(
            field_log(
                "graduate@example.org", offset, hours, text, mechanism, tool_codes, place, colour
            ),
            instructor,
        )

    approve_log(
        field_log(
            "learner@example.org",
            10,
            2,
            "สำรวจข้อมูลพื้นฐานของชุมชนรอบกว๊านพะเยา",
            "process",
            ["participatory-mapping"],
            "กว๊านพะเยา",
            "teal",
        ),
        instructor,
    )
    field_log(
        "learner@example.org",
        25,
        1.5,
        "ประชุมคณะทำงานเมืองแห่งการเรียนรู้ครั้งแรก",
        "structural",
        ["design-thinking"],
        "สำนักงานเทศบาลเมืองพะเยา",
        "slateblue",
    )
    return_log(
        field_log(
            "learner@example.org",
            30,
            2,
            "ทดลองเกมสถานการณ์จำลองกับครู",
            "tools-and-learning",
            ["gaming-simulation"],
            "โรงเรียนในเขตเทศบาล",
            "indianred",
        ),
        instructor,
        "ช่วยเล่าเพิ่มว่ามีครูกี่คนร่วม และได้ข้อค้นพบอะไรจากการเล่นเกม",
    )
    reject_log(
        field_log(
            "learner@example.org", 40, 4, "เตรียมเอกสาร", "structural", ["other"], "บ้าน", "gray"
        ),
        instructor,
        "งานเตรียมเอกสารส่วนตัวนับเป็นชั่วโมงปฏิบัติการในพื้นที่ไม่ได้",
    )
    withdraw_log(
        field_log("learner@example.org", 41, 1, "บันทึกซ้ำ", "structural", ["other"], "บ้าน", "gray"),
        learner,
    )
    for number, email in enumerate(sorted(e for e in enrolments if e.startswith("learner0"))):
        field_log(
            email,
            12 + number,
            1 + number % 3,
            "ลงพื้นที่พูดคุยกับผู้นำชุมชนเรื่องแหล่งเรียนรู้",
            "process",
            ["participatory-mapping"],
            "ชุมชนในเมือง",
            "olivedrab",
        )
    db.session.flush()
    return [f"{cohort.code}: 6 sessions with attendance, field logs in every state"]


#: email → (summary, scores per criterion in rubric order, result, feedback)
DEMO_REPORTS = {
    "graduate@example.org": (
        "ผมชวนภาคีในเชียงรายทำแผนที่ทรัพยากรการเรียนรู้ริมแม่น้ำกก ใช้กระบวนการคิดเชิงออกแบบกับ"
        "เยาวชนออกแบบแหล่งเรียนรู้ใหม่สองแห่ง และนำเสนอผลในเวทีเสวนาของเมือง บทเรียนสำคัญคือ"
        "ต้องให้เยาวชนเป็นเจ้าของงานตั้งแต่ต้น ขั้นต่อไปคือบรรจุแหล่งเรียนรู้ไว้ในหลักสูตรท้องถิ่น",
        (17, 16, 18, 20, 12),
        GradeResult.PASS,
        "งานเชื่อมโยงข้อมูลเมืองกับภาคีได้ดีมาก ควรเผยแพร่ผลต่อในเทศกาลการเรียนรู้ปีหน้า",
    ),
    "learner@example.org": (
        "ดิฉันสำรวจข้อมูลชุมชนรอบกว๊านพะเยาและประชุมคณะทำงานครั้งแรก",
        (12, 10, 9, 14, 7),
        GradeResult.REVISE,
        "เล่าเพิ่มว่าใช้ข้อมูลที่สำรวจอย่างไร ใครร่วมคณะทำงานบ้าง และสะท้อนสิ่งที่ได้เรียนรู้",
    ),
    "learner02@example.org": (
        "ยังไม่ได้ลงพื้นที่ตามแผน",
        (4, 3, 5, 6, 2),
        GradeResult.FAIL,
        "รายงานยังไม่มีงานในพื้นที่ให้ประเมิน โปรดติดต่อเจ้าหน้าที่โครงการ",
    ),
    "learner03@example.org": (
        "ลงพื้นที่พูดคุยกับผู้นำชุมชนเรื่องแหล่งเรียนรู้ และจัดทำแผนที่แหล่งเรียนรู้ร่วมกัน",
        (14, 13, 12, 16, 10),
        GradeResult.PASS,
        "ผ่าน ควรต่อยอดไปสู่การสื่อสารในวงกว้าง",
    ),
    "learner01@example.org": ("ลงพื้นที่พูดคุยกับผู้นำชุมชนเรื่องแหล่งเรียนรู้", None, None, ""),
}


def load_demo_reports() -> list[str]:
    """Field reports in every state, once: the graduate's passed."""
    cohort = _demo_cohort()
    enrolments = {
        e.learner.email: e
        for e in db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id))
    }
    if any(report_of(e) is not None for e in enrolments.values()):
        return []
    instructor = db.session.scalar(select(User).where(User.email == "instructor@example.org"))
    if instructor is None:
        raise RuntimeError("Load the demo accounts first: instructor@example.org is missing.")
    rubric = current_rubric()
    for email, (summary, points, result, feedback) in DEMO_REPORTS.items():
        enrolment = enrolments[email]
        logs = [log.id for log in field_logs_for_report(enrolment)]
        report = submit_report(enrolment, ReportDraft(summary, logs), [], enrolment.learner)
        if result is not None:
            if points is None:
                raise RuntimeError("DEMO_REPORTS gives scores with every result.")
            scores = {c.id: Score(p) for c, p in zip(rubric.criteria, points, strict=True)}
            grade_report(report, instructor, scores, result, feedback)
    db.session.flush()
    return [f"{cohort.code}: field reports submitted, to revise, passed and failed"]
