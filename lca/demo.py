"""Demo data: a cohort with the four demo accounts and a dozen more learners (idempotent)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lca.auth.services import Profile, create_user
from lca.cohorts.services import assign_instructor, enrol_learner, instructor_ids
from lca.dates import local_today
from lca.extensions import db
from lca.models import City, Cohort, Enrolment, Role, User

DEMO_PASSWORD = "demo-pass-2569"  # noqa: S105 - documented demo accounts only
DEMO_COHORT = "CA-2569-01"

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
        )
        db.session.add(cohort)
        db.session.flush()
    return cohort


def load_demo() -> list[str]:
    """Create what is missing of the demo; running it again changes nothing."""
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
    return [f"{cohort.code}: {len(people)} demo accounts, password {DEMO_PASSWORD}"]


def _is_enrolled(cohort: Cohort, learner: User) -> bool:
    query = select(Enrolment.id).where(
        Enrolment.cohort_id == cohort.id, Enrolment.learner_id == learner.id
    )
    return db.session.scalar(query) is not None
