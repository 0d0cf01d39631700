"""Synthetic data at scale for the benchmark: cohorts of learners with sessions, attendance, hour
logs in every state, evidence rows, field reports with grades and certificates.

It writes with bulk INSERTs (ids chosen here, no ORM objects) so that 10,000 learners and their
half a million hour logs load in well under a minute. The people are made up (names drawn from
lists of common Thai given names and surnames); every synthetic account signs in with
``SYNTH_PASSWORD``, and the synthetic instructors (staff: a second factor is required) with
the demo's published authenticator-app key (``lca.ops.demo.DEMO_TOTP_SECRET``). Evidence and
certificate rows point at files that are not written: the benchmark measures pages, not
downloads.
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from sqlalchemy import Table, func, insert, select

from lca.assessment.services import RESULT_STATUS, results_for_total
from lca.auth.passwords import hash_password
from lca.certificates.codes import new_code, next_serial_number, serial_of
from lca.certificates.eligibility import is_eligible
from lca.certificates.services import activity_ended_on, certificate_snapshot, curriculum_named
from lca.certificates.status_list import FILL_LIMIT, LIST_SIZE
from lca.core.dates import buddhist_year, local_today
from lca.core.db import Base, db
from lca.curriculum.services import (
    current_version,
    field_catalogues_of,
    latest_rubric,
    modules_of,
)
from lca.curriculum.versions import create_version, plan_from, rule_changes
from lca.hours.progress import ModuleProgress
from lca.models import (
    Attendance,
    AttendanceStatus,
    Certificate,
    CertificateLanguage,
    CertificateStatus,
    City,
    ClassSession,
    Cohort,
    CurriculumVersion,
    Enrolment,
    EnrolmentStatus,
    EvidenceFile,
    FieldReport,
    Grade,
    GradeResult,
    GradeScore,
    HourLog,
    HourLogNote,
    LogSource,
    LogStatus,
    Module,
    ModuleKind,
    NoteKind,
    ReportStatus,
    Role,
    Rubric,
    User,
)
from lca.models.assessment import field_report_logs
from lca.models.cohorts import cohort_instructors, field_window_end
from lca.models.hours import hour_log_tools
from lca.ops.demo import DEMO_TOTP_SECRET

SYNTH_PASSWORD = "synth-pass-2569"  # noqa: S105 - throwaway benchmark accounts only
COHORT_PREFIX = "SY-"
LEARNERS_PER_COHORT = 50
COHORTS_PER_INSTRUCTOR = 4
INSTRUCTORS_PER_COHORT = 2
LOGS_PER_LEARNER = 50
#: cohorts start one after another over about three years, the newest two months ago
SPAN_DAYS = 1100
NEWEST_STARTED_DAYS_AGO = 60
#: with two curriculum versions, the later one's field practice is this much longer (9 → 12)
SECOND_VERSION_EXTRA_FIELD_HOURS = 3

GIVEN = [
    ("สมชาย", "Somchai"),
    ("สมศรี", "Somsri"),
    ("ประยุทธ", "Prayut"),
    ("วิไล", "Wilai"),
    ("อนุชา", "Anucha"),
    ("กาญจนา", "Kanchana"),
    ("สุรชัย", "Surachai"),
    ("นภา", "Napha"),
    ("ธีระ", "Thira"),
    ("พรทิพย์", "Pornthip"),
    ("วีระ", "Wira"),
    ("มาลี", "Malee"),
    ("ชัยวัฒน์", "Chaiwat"),
    ("รัตนา", "Rattana"),
    ("เกียรติ", "Kiat"),
    ("สุดา", "Suda"),
    ("ปรีชา", "Preecha"),
    ("อรุณี", "Arunee"),
    ("ณัฐวุฒิ", "Nattawut"),
    ("จิราพร", "Jiraporn"),
    ("ศุภชัย", "Supachai"),
    ("เพ็ญศรี", "Pensri"),
    ("ธนพล", "Thanaphon"),
    ("ลำดวน", "Lamduan"),
    ("บุญมี", "Boonmee"),
    ("ฮาซัน", "Hasan"),
    ("นูรีดา", "Nurida"),
    ("ก้องภพ", "Kongphop"),
    ("ปิยะพงษ์", "Piyaphong"),
    ("ศิริพร", "Siriporn"),
    ("อำไพ", "Amphai"),
    ("ภูมิใจ", "Phumjai"),
]
FAMILY = [
    ("ใจดี", "Jaidee"), ("ศรีสุข", "Srisuk"), ("แก้วมณี", "Kaewmanee"), ("บุญมา", "Boonma"),
    ("ทองคำ", "Thongkham"), ("สุขสวัสดิ์", "Suksawat"), ("ดอยคำ", "Doikham"), ("รักไทย", "Rakthai"),
    ("มั่นคง", "Mankhong"), ("เจริญผล", "Charoenphon"), ("พรหมมา", "Phromma"), ("อินทร์แก้ว", "Inkaew"),
    ("ศักดิ์ดี", "Sakdee"), ("ปัญญาดี", "Panyadee"), ("วงศ์ใหญ่", "Wongyai"), ("ชูศรี", "Chusri"),
    ("ดือราแม", "Duerame"), ("สาและ", "Salae"), ("เชียงแสน", "Chiangsaen"), ("ทะเลงาม", "Thalengam"),
    ("นาคสวัสดิ์", "Naksawat"), ("บุญเรือง", "Bunrueang"), ("คำแสน", "Khamsaen"), ("จันทร์เพ็ญ", "Chanpen"),
]  # fmt: skip
ORGANISATIONS = [
    "เทศบาลนคร{city}",
    "เทศบาลเมือง{city}",
    "องค์การบริหารส่วนจังหวัด{city}",
    "สำนักงานพัฒนาสังคมจังหวัด{city}",
    "โรงเรียนประจำจังหวัด{city}",
    "กลุ่มเยาวชนเมือง{city}",
    "สภาองค์กรชุมชน{city}",
    "มหาวิทยาลัยในจังหวัด{city}",
]
FIELD_WORK = [
    "จัดเวทีรับฟังความเห็นชาวบ้านเรื่องพื้นที่เรียนรู้ของชุมชน",
    "เดินสำรวจและทำแผนที่ทุนทางวัฒนธรรมกับเยาวชน",
    "ประชุมภาคีเครือข่ายเพื่อวางแผนกิจกรรมเมืองแห่งการเรียนรู้",
    "ทดลองกิจกรรมการเรียนรู้กับผู้สูงอายุในชุมชน",
    "สรุปบทเรียนกับทีมงานเทศบาลหลังกิจกรรม",
    "ออกแบบกิจกรรมร่วมกับโรงเรียนในพื้นที่",
]
STUDY_WORK = [
    "อ่านเอกสารประกอบการเรียนและสรุปประเด็นสำคัญ",
    "ทบทวนบทเรียนที่ขาดเรียนจากวิดีโอบันทึกการสอน",
    "ทำแบบฝึกหัดท้ายบทและส่งให้ผู้สอน",
]
PLACES = ["ศาลาประชาคม", "หอประชุมเทศบาล", "ห้องสมุดประชาชน", "ลานวัฒนธรรม", "ตลาดชุมชน"]
QUESTIONS = ["ขอภาพกิจกรรมเพิ่มเติม และช่วยระบุจำนวนผู้เข้าร่วม", "ช่วยอธิบายบทบาทของท่านในกิจกรรมนี้"]
ANSWERS = ["แนบภาพเพิ่มแล้ว มีผู้เข้าร่วมประมาณ 30 คน", "เป็นผู้ดำเนินรายการและสรุปผลการประชุม"]
REJECTIONS = ["กิจกรรมนี้ไม่อยู่ในช่วงฝึกปฏิบัติภาคสนาม", "ชั่วโมงซ้ำกับบันทึกที่อนุมัติแล้ว"]


#: (cumulative share, state) of learners' own logs in finished and in running cohorts
FINISHED_STATES = (
    (0.86, LogStatus.APPROVED),
    (0.92, LogStatus.REJECTED),
    (0.97, LogStatus.WITHDRAWN),
)
RUNNING_STATES = (
    (0.85, LogStatus.APPROVED),
    (0.9, LogStatus.REJECTED),
    (0.95, LogStatus.WITHDRAWN),
)


def _pick(roll: float, states, otherwise: LogStatus) -> LogStatus:
    return next((state for limit, state in states if roll < limit), otherwise)


class SynthError(Exception):
    """The synthetic data cannot be built here (a message for the operator)."""


@dataclass
class Counters:
    """Rows written, by table."""

    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, count: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + count


def _at(day: date, rng: random.Random, earliest: int = 8, latest: int = 20) -> datetime:
    """A moment on ``day``, Thai office hours, in UTC."""
    hour = rng.randint(earliest, latest)
    moment = datetime.combine(day, time(hour, rng.choice((0, 15, 30, 45))))
    return (moment - timedelta(hours=7)).replace(tzinfo=UTC)


def _minutes(rng: random.Random) -> int:
    return rng.choice((30, 45, 60, 60, 60, 90, 90, 120, 120, 180))


def _table(model: type[Base]) -> Table:
    """The table a model is mapped to (SQLAlchemy types ``__table__`` as any ``FromClause``)."""
    return cast(Table, model.__table__)


class _Ids:
    """The next free id of each table (ids are chosen here, so no RETURNING is needed)."""

    def __init__(self, tables: Iterable[Table]):
        self.next = {
            table.name: (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
            for table in tables
        }

    def take(self, table: Table) -> int:
        value = self.next[table.name]
        self.next[table.name] = value + 1
        return value


class _Batch:
    """Rows waiting to be inserted, table by table, in foreign-key order."""

    ORDER = (
        _table(User),
        _table(Cohort),
        cohort_instructors,
        _table(Enrolment),
        _table(ClassSession),
        _table(Attendance),
        _table(HourLog),
        hour_log_tools,
        _table(EvidenceFile),
        _table(HourLogNote),
        _table(FieldReport),
        field_report_logs,
        _table(Grade),
        _table(GradeScore),
        _table(Certificate),
    )

    def __init__(self, counters: Counters):
        self.rows: dict[str, list[dict]] = {table.name: [] for table in self.ORDER}
        self.counters = counters

    def add(self, table: Table, row: dict) -> None:
        self.rows[table.name].append(row)

    def write(self) -> None:
        for table in self.ORDER:
            rows = self.rows[table.name]
            if rows:
                db.session.execute(insert(table), rows)
                self.counters.add(table.name, len(rows))
                rows.clear()


@dataclass
class _Curriculum:
    """One curriculum version as the builder uses it: every module, mechanism and tool a
    cohort's rows name comes from its own version."""

    version: CurriculumVersion
    modules: list[Module]
    field_module: Module
    mechanisms: list[int]
    tools: list[int]


def _curriculum(version: CurriculumVersion) -> _Curriculum:
    modules = modules_of(version.id)
    mechanisms, tools = field_catalogues_of(version.id)
    return _Curriculum(
        version=version,
        modules=modules,
        field_module=next(m for m in modules if m.is_field),
        mechanisms=[m.id for m in mechanisms],
        tools=[t.id for t in tools],
    )


def _second_version(first: CurriculumVersion) -> CurriculumVersion:
    """A later version made from ``first``: field practice ``SECOND_VERSION_EXTRA_FIELD_HOURS``
    hours longer (9 → 12: 48 hours in all), named from its hours and year, audited as the seed's
    new versions are."""
    plan = plan_from(first)
    field_row = next(row for row in plan.modules if row["kind"] is ModuleKind.FIELD)
    field_row["hours"] += SECOND_VERSION_EXTRA_FIELD_HOURS
    mechanisms, tools = field_catalogues_of(first.id)
    changes = rule_changes(
        modules_of(first.id), {m.code for m in mechanisms}, {t.code for t in tools}, plan
    )
    return create_version(plan, changes).version


@dataclass
class _Catalogue:
    curricula: list[_Curriculum]  #: the oldest first; the newer half of the cohorts: the last
    rubric: Rubric
    cities: list[City]


def _catalogue(versions: int) -> _Catalogue:
    version = current_version()
    modules = modules_of(version.id) if version else []
    rubric = latest_rubric()
    cities = list(db.session.scalars(select(City).order_by(City.id)))
    if version is None or not modules or rubric is None or not cities:
        raise SynthError("Load the seed data first: flask --app wsgi lca seed")
    curricula = [_curriculum(version)]
    if versions == 2:
        curricula.append(_curriculum(_second_version(version)))
    return _Catalogue(curricula=curricula, rubric=rubric, cities=cities)


class _Builder:
    def __init__(self, learners: int, seed: int, cohort_size: int, versions: int = 1):
        self.rng = random.Random(seed)  # noqa: S311 - made-up data, not secrets  # nosec B311
        self.today = local_today()
        self.catalogue = _catalogue(versions)
        self.counters = Counters()
        self.batch = _Batch(self.counters)
        self.ids = _Ids(t for t in _Batch.ORDER if "id" in t.c)
        self.password_hash = hash_password(SYNTH_PASSWORD)
        self.learners = learners
        self.cohort_size = cohort_size
        self.cohorts = math.ceil(learners / cohort_size)
        self.instructors: list[int] = []
        self.now = datetime.now(UTC)
        self._status_places = self._places()

    def _places(self) -> Iterator[tuple[int, int]]:
        """Each certificate's place in the revocation status lists: random, as when issued."""
        number = 1
        while True:
            for index in self.rng.sample(range(LIST_SIZE), FILL_LIMIT):
                yield number, index
            number += 1

    def curriculum_of(self, index: int) -> _Curriculum:
        """The version of the cohort ``index`` (0 the oldest): the newer half of the cohorts
        follow the later version when there are two."""
        curricula = self.catalogue.curricula
        newer_half = index >= self.cohorts - self.cohorts // 2
        return curricula[-1] if newer_half else curricula[0]

    # people ---------------------------------------------------------------------------------

    def person(self, role: Role, email: str, city: City) -> int:
        rng = self.rng
        (given_th, given_en), (family_th, family_en) = rng.choice(GIVEN), rng.choice(FAMILY)
        user_id = self.ids.take(_table(User))
        created = self.now - timedelta(days=SPAN_DAYS + 30)
        self.batch.add(
            _table(User),
            {
                "id": user_id,
                "email": email,
                "subject_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "password_hash": self.password_hash,
                "full_name_th": f"{given_th} {family_th}",
                "full_name_en": f"{given_en} {family_en}",
                "role": role,
                "city_id": city.id,
                "organisation": rng.choice(ORGANISATIONS).format(city=city.name_th),
                "is_active": True,
                "preferred_language": "en" if rng.random() < 0.1 else "th",
                "must_change_password": False,
                # people of a programme in its stride have read the privacy notice long ago
                "privacy_notice_seen_at": created,
                "created_at": created,
                "updated_at": created,
                **self._second_factor(role, created),
            },
        )
        return user_id

    @staticmethod
    def _second_factor(role: Role, created: datetime) -> dict[str, object]:
        """Staff have the demo's authenticator app (they must have a second factor)."""
        if role is Role.LEARNER:
            return {"totp_secret": None, "totp_confirmed_at": None}
        return {"totp_secret": DEMO_TOTP_SECRET, "totp_confirmed_at": created}

    def make_instructors(self) -> None:
        count = max(
            INSTRUCTORS_PER_COHORT,
            math.ceil(self.cohorts * INSTRUCTORS_PER_COHORT / COHORTS_PER_INSTRUCTOR),
        )
        for number in range(1, count + 1):
            city = self.catalogue.cities[number % len(self.catalogue.cities)]
            email = f"synth.instructor.{number:04d}@example.org"
            self.instructors.append(self.person(Role.INSTRUCTOR, email, city))

    # one cohort -----------------------------------------------------------------------------

    def cohort(self, index: int, learners: int) -> None:
        rng, catalogue = self.rng, self.catalogue
        curriculum = self.curriculum_of(index)
        months = curriculum.field_module.field_window_months or 6
        age = NEWEST_STARTED_DAYS_AGO + (SPAN_DAYS * (self.cohorts - 1 - index)) // max(
            self.cohorts, 1
        )
        starts_on = self.today - timedelta(days=age)
        ends_on = starts_on + timedelta(days=270)
        field_starts_on = starts_on + timedelta(days=30)
        city = catalogue.cities[index % len(catalogue.cities)]
        cohort_id = self.ids.take(_table(Cohort))
        created = _at(starts_on - timedelta(days=30), rng)
        self.batch.add(
            _table(Cohort),
            {
                "id": cohort_id,
                "code": f"{COHORT_PREFIX}{buddhist_year(starts_on)}-{index + 1:04d}",
                "host_city_id": city.id,
                "curriculum_version_id": curriculum.version.id,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "field_starts_on": field_starts_on,
                "field_window_months": months,
                "field_ends_on": field_window_end(field_starts_on, months),
                "created_at": created,
                "updated_at": created,
            },
        )
        first = (index * INSTRUCTORS_PER_COHORT) % len(self.instructors)
        teachers = [
            self.instructors[(first + k) % len(self.instructors)]
            for k in range(INSTRUCTORS_PER_COHORT)
        ]
        for instructor_id in teachers:
            self.batch.add(
                cohort_instructors,
                {"cohort_id": cohort_id, "instructor_id": instructor_id, "assigned_at": created},
            )
        sessions = []
        for week, module in enumerate((m for m in curriculum.modules if not m.is_field), start=1):
            held_on = starts_on + timedelta(days=7 * week)
            session_id = self.ids.take(_table(ClassSession))
            self.batch.add(
                _table(ClassSession),
                {
                    "id": session_id,
                    "cohort_id": cohort_id,
                    "module_id": module.id,
                    "held_on": held_on,
                    "starts_at": time(9, 0),
                    "minutes": module.hours * 60,
                    "place": f"หอประชุมเทศบาล{city.name_th}",
                    "created_by_id": teachers[0],
                    "created_at": created,
                    "updated_at": created,
                },
            )
            sessions.append((session_id, module, held_on))
        context = {
            "cohort_id": cohort_id,
            "code": f"{COHORT_PREFIX}{buddhist_year(starts_on)}-{index + 1:04d}",
            "city": city,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "field_starts_on": field_starts_on,
            "field_ends_on": field_window_end(field_starts_on, months),
            "curriculum": curriculum,
            "finished": ends_on < self.today,
            "teachers": teachers,
            "sessions": sessions,
        }
        for _ in range(learners):
            self.learner(context)

    def learner(self, cohort: dict) -> None:
        rng, catalogue = self.rng, self.catalogue
        number = self.counters.rows.get("synth_learners", 0) + 1
        self.counters.add("synth_learners", 1)
        learner_id = self.person(
            Role.LEARNER, f"synth.learner.{number:06d}@example.org", rng.choice(catalogue.cities)
        )
        enrolment_id = self.ids.take(_table(Enrolment))
        withdrawn = rng.random() < 0.03
        enrolled_at = _at(cohort["starts_on"] - timedelta(days=rng.randint(3, 20)), rng)
        self.batch.add(
            _table(Enrolment),
            {
                "id": enrolment_id,
                "cohort_id": cohort["cohort_id"],
                "learner_id": learner_id,
                "status": EnrolmentStatus.WITHDRAWN if withdrawn else EnrolmentStatus.ACTIVE,
                "enrolled_at": enrolled_at,
                "withdrawn_at": _at(cohort["starts_on"] + timedelta(days=40), rng)
                if withdrawn
                else None,
                "withdrawal_reason": "ย้ายไปรับราชการต่างจังหวัด" if withdrawn else None,
                "field_starts_on": None,
                "field_ends_on": None,
            },
        )
        curriculum = cohort["curriculum"]
        approved = {module.id: 0 for module in curriculum.modules}
        logs_left = 10 if withdrawn else LOGS_PER_LEARNER
        for session_id, module, held_on in cohort["sessions"]:
            logs_left -= self.attendance(
                cohort, enrolment_id, session_id, module, held_on, approved
            )
        field_logs = []
        for _ in range(max(logs_left, 0)):
            log = self.hour_log(cohort, enrolment_id, approved, learner_id)
            if log is not None:
                field_logs.append(log)
        if withdrawn:
            return
        report_status = self.field_report(cohort, enrolment_id, approved, field_logs)
        modules = [ModuleProgress(m, approved[m.id]) for m in curriculum.modules]
        if cohort["finished"] and is_eligible(modules, report_status) and rng.random() < 0.95:
            self.certificate(cohort, enrolment_id, learner_id, approved)

    def attendance(self, cohort, enrolment_id, session_id, module, held_on, approved) -> int:
        """Mark one learner at one session; returns the hour logs it made (0 or 1)."""
        roll = self.rng.random()
        full = module.hours * 60
        if roll < 0.92:
            status, minutes = AttendanceStatus.PRESENT, full
        elif roll < 0.95:
            status, minutes = AttendanceStatus.LATE, full - 60
        elif roll < 0.99:
            status, minutes = AttendanceStatus.ABSENT, 0
        else:
            status, minutes = AttendanceStatus.EXCUSED, 0
        recorded = _at(held_on, self.rng, 16, 18)
        teacher = cohort["teachers"][0]
        self.batch.add(
            _table(Attendance),
            {
                "id": self.ids.take(_table(Attendance)),
                "class_session_id": session_id,
                "enrolment_id": enrolment_id,
                "status": status,
                "minutes": minutes,
                "recorded_by_id": teacher,
                "recorded_at": recorded,
            },
        )
        if not minutes:
            return 0
        self._log_row(
            enrolment_id=enrolment_id,
            module_id=module.id,
            worked_on=held_on,
            minutes=minutes,
            description=f"หอประชุมเทศบาล{cohort['city'].name_th}",
            source=LogSource.ATTENDANCE,
            class_session_id=session_id,
            status=LogStatus.APPROVED,
            mechanism_id=None,
            place=None,
            submitted_at=recorded,
            reviewed_by_id=teacher,
            reviewed_at=recorded,
        )
        approved[module.id] += minutes
        return 1

    def _log_row(self, **values) -> int:
        log_id = self.ids.take(_table(HourLog))
        stamp = values["reviewed_at"] or values["submitted_at"]
        self.batch.add(
            _table(HourLog),
            {
                "id": log_id,
                **values,
                "created_at": values["submitted_at"],
                "updated_at": stamp,
                "version": 2 if values["reviewed_at"] else 1,
            },
        )
        return log_id

    def hour_log(self, cohort, enrolment_id, approved, learner_id) -> int | None:
        """A learner's own log in a state a cohort of this age would have; returns the id of an
        approved field log (a field report may draw on it)."""
        rng, curriculum = self.rng, cohort["curriculum"]
        today = self.today
        field_work = rng.random() < 0.75
        if field_work:
            module = curriculum.field_module
            last = min(cohort["field_ends_on"], today)
            span = (last - cohort["field_starts_on"]).days
            worked_on = cohort["field_starts_on"] + timedelta(days=rng.randint(0, max(span, 0)))
        else:
            module = rng.choice([m for m in curriculum.modules if not m.is_field])
            span = (min(cohort["ends_on"], today) - cohort["starts_on"]).days
            worked_on = cohort["starts_on"] + timedelta(days=rng.randint(0, max(span, 0)))
        roll = rng.random()
        recent = (today - worked_on).days < 21
        if cohort["finished"]:
            status = _pick(roll, FINISHED_STATES, LogStatus.RETURNED)
        elif recent and roll < 0.6:
            status = LogStatus.PENDING if roll < 0.5 else LogStatus.RETURNED
        else:
            status = _pick(roll, RUNNING_STATES, LogStatus.PENDING)
        submitted = min(_at(worked_on + timedelta(days=rng.randint(0, 3)), rng), self.now)
        reviewed = status in (LogStatus.APPROVED, LogStatus.REJECTED, LogStatus.RETURNED)
        reviewed_at = (
            min(submitted + timedelta(hours=rng.randint(2, 96)), self.now) if reviewed else None
        )
        teacher = rng.choice(cohort["teachers"])
        minutes = _minutes(rng)
        log_id = self._log_row(
            enrolment_id=enrolment_id,
            module_id=module.id,
            worked_on=worked_on,
            minutes=minutes,
            description=rng.choice(FIELD_WORK if field_work else STUDY_WORK),
            source=LogSource.LEARNER,
            class_session_id=None,
            status=status,
            mechanism_id=rng.choice(curriculum.mechanisms) if field_work else None,
            place=f"{rng.choice(PLACES)} {cohort['city'].name_th}" if field_work else None,
            submitted_at=submitted,
            reviewed_by_id=teacher if reviewed else None,
            reviewed_at=reviewed_at,
        )
        if field_work:
            for tool_id in rng.sample(
                curriculum.tools, k=min(len(curriculum.tools), rng.randint(1, 2))
            ):
                self.batch.add(hour_log_tools, {"hour_log_id": log_id, "tool_id": tool_id})
            self.evidence(log_id, submitted)
        if status is LogStatus.RETURNED:
            self.note(log_id, teacher, NoteKind.QUESTION, rng.choice(QUESTIONS), reviewed_at)
            if rng.random() < 0.3:  # answered: back in the queue
                self.note(log_id, learner_id, NoteKind.ANSWER, rng.choice(ANSWERS), reviewed_at)
        elif status is LogStatus.REJECTED:
            self.note(log_id, teacher, NoteKind.REJECTION, rng.choice(REJECTIONS), reviewed_at)
        if status is LogStatus.APPROVED:
            approved[module.id] += minutes
            return log_id if field_work else None
        return None

    def evidence(self, log_id: int, uploaded_at: datetime) -> None:
        rng = self.rng
        evidence_id = self.ids.take(_table(EvidenceFile))
        self.batch.add(
            _table(EvidenceFile),
            {
                "id": evidence_id,
                "hour_log_id": log_id,
                "storage_key": f"synth/evidence-{evidence_id}.jpg",
                "thumbnail_key": None,
                "original_name": f"IMG_{rng.randint(1000, 9999)}.jpg",
                "content_type": "image/jpeg",
                "size_bytes": rng.randint(180_000, 2_500_000),
                "sha256": f"{rng.getrandbits(256):064x}",
                "uploaded_at": uploaded_at,
            },
        )

    def note(self, log_id, author_id, kind, body, at) -> None:
        self.batch.add(
            _table(HourLogNote),
            {
                "id": self.ids.take(_table(HourLogNote)),
                "hour_log_id": log_id,
                "author_id": author_id,
                "kind": kind,
                "body": body,
                "created_at": at,
            },
        )

    # field report, grades, certificate ------------------------------------------------------

    def field_report(self, cohort, enrolment_id, approved, field_logs) -> ReportStatus | None:
        """A report once the field hours are in; returns its state (None: no report)."""
        rng = self.rng
        field_module = cohort["curriculum"].field_module
        if not ModuleProgress(field_module, approved[field_module.id]).is_complete:
            return None
        roll = rng.random()
        if cohort["finished"]:
            grades = (
                [GradeResult.PASS]
                if roll < 0.85
                else [GradeResult.REVISE, GradeResult.PASS]
                if roll < 0.93
                else [GradeResult.FAIL]
                if roll < 0.96
                else None
            )
        else:
            grades = [] if roll < 0.5 else [GradeResult.REVISE] if roll < 0.6 else None
            if grades is None and roll < 0.8:
                grades = [GradeResult.PASS]
        if grades is None:
            return None
        status = RESULT_STATUS[grades[-1]] if grades else ReportStatus.SUBMITTED
        report_id = self.ids.take(_table(FieldReport))
        submitted = _at(min(cohort["field_ends_on"], self.today - timedelta(days=20)), rng)
        assessor = rng.choice(cohort["teachers"])
        self.batch.add(
            _table(FieldReport),
            {
                "id": report_id,
                "enrolment_id": enrolment_id,
                "summary": "สรุปการฝึกปฏิบัติภาคสนาม: จัดเวทีชุมชน ทำแผนที่ทุนทางวัฒนธรรม "
                "และทดลองกิจกรรมการเรียนรู้กับภาคีในเมือง พร้อมบทเรียนที่ได้",
                "status": status,
                "assessor_id": assessor,
                "submitted_at": submitted,
                "created_at": submitted,
                "updated_at": submitted,
                "version": 1 + len(grades),
            },
        )
        for log_id in field_logs[:6]:
            self.batch.add(field_report_logs, {"field_report_id": report_id, "hour_log_id": log_id})
        for step, result in enumerate(grades, start=1):
            self.grade(report_id, assessor, result, submitted + timedelta(days=7 * step))
        return status

    def grade(self, report_id, grader_id, result, graded_at) -> None:
        rubric, rng = self.catalogue.rubric, self.rng
        share = {GradeResult.PASS: (0.7, 1.0), GradeResult.REVISE: (0.4, 0.6)}.get(
            result, (0.1, 0.35)
        )
        points = [round(c.max_points * rng.uniform(*share)) for c in rubric.criteria]
        if result not in results_for_total(sum(points), rubric.pass_mark):
            full = result is GradeResult.PASS
            points = [c.max_points if full else 0 for c in rubric.criteria]
        grade_id = self.ids.take(_table(Grade))
        self.batch.add(
            _table(Grade),
            {
                "id": grade_id,
                "field_report_id": report_id,
                "rubric_id": rubric.id,
                "grader_id": grader_id,
                "result": result,
                "total_points": sum(points),
                "feedback": "ขอบคุณสำหรับรายงานที่ละเอียด" if result is GradeResult.PASS else
                "โปรดเพิ่มหลักฐานการมีส่วนร่วมของชุมชน",
                "graded_at": min(graded_at, self.now),
            },
        )  # fmt: skip
        for criterion, value in zip(rubric.criteria, points, strict=True):
            self.batch.add(
                _table(GradeScore),
                {
                    "id": self.ids.take(_table(GradeScore)),
                    "grade_id": grade_id,
                    "criterion_id": criterion.id,
                    "points": value,
                    "comment": "",
                },
            )

    def certificate(self, cohort, enrolment_id, learner_id, approved) -> None:
        rng, curriculum = self.rng, cohort["curriculum"]
        issued_on = min(cohort["ends_on"] + timedelta(days=rng.randint(7, 30)), self.today)
        issued_at = _at(issued_on, rng, 9, 16)
        year = buddhist_year(issued_on)
        number = next_serial_number(year)
        serial, code = serial_of(year, number), new_code()
        user = self.batch.rows[_table(User).name]
        person = next(row for row in reversed(user) if row["id"] == learner_id)
        language = CertificateLanguage.BOTH
        snapshot = certificate_snapshot(
            serial=serial,
            code=code,
            language=language,
            issued_at=issued_at,
            issued_on=issued_on,
            learner={
                "name_th": person["full_name_th"],
                "name_en": person["full_name_en"],
                "email": person["email"],
            },
            cohort={
                "code": cohort["code"],
                "host_city_th": cohort["city"].name_th,
                "host_city_en": cohort["city"].name_en,
                "starts_on": cohort["starts_on"].isoformat(),
                "ends_on": cohort["ends_on"].isoformat(),
            },
            modules=[
                {
                    "number": m.number,
                    "title_th": m.title_th,
                    "title_en": m.title_en,
                    "hours": m.hours,
                    "approved_hours": approved[m.id] / 60,
                }
                for m in curriculum.modules
            ],
            total_hours=sum(m.hours for m in curriculum.modules),
            curriculum=curriculum_named(curriculum.version),
            subject_uuid=person["subject_uuid"],
            activity_ended_on=activity_ended_on(
                cohort["ends_on"], cohort["field_ends_on"], issued_on
            ),
        )
        snapshot.update(serial_year=year, serial_number=number)
        revoked = rng.random() < 0.01
        place = next(self._status_places)
        self.batch.add(
            _table(Certificate),
            {
                "id": self.ids.take(_table(Certificate)),
                "enrolment_id": enrolment_id,
                "serial": serial,
                "serial_year": year,
                "serial_number": number,
                "code": code,
                "status": CertificateStatus.REVOKED if revoked else CertificateStatus.VALID,
                "language": language,
                "snapshot": snapshot,
                "pdf_key": f"synth/certificate-{serial}.pdf",
                "pdf_sha256": hashlib.sha256(code.encode()).hexdigest(),
                "pdf_size": 180_000,
                "issued_at": issued_at,
                "issued_by_id": None,
                "revoked_at": min(issued_at + timedelta(days=60), self.now) if revoked else None,
                "revoked_by_id": None,
                "revocation_reason": "ออกให้ผิดรุ่น" if revoked else None,
                "superseded_by_id": None,
                "replaces_id": None,
                "reissue_reason": None,
                "status_list": place[0],
                "status_index": place[1],
            },
        )


def _advance_sequences() -> None:
    """PostgreSQL hands out ids from sequences: move them past the ids chosen here."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in _Batch.ORDER:
        if "id" in table.c:
            highest = db.session.scalar(select(func.max(table.c.id))) or 1
            sequence = func.pg_get_serial_sequence(table.name, "id")
            db.session.execute(select(func.setval(sequence, highest)))


def build_synthetic(
    learners: int,
    seed: int = 2569,
    progress: Callable[[int], None] | None = None,
    cohort_size: int = LEARNERS_PER_COHORT,
    versions: int = 1,
) -> Counters:
    """Add ``learners`` synthetic learners in cohorts of ``cohort_size`` with everything a real
    programme accumulates. With ``versions=2`` a later curriculum version is made from the
    current one (``_second_version``) and the newer half of the cohorts follow it. ``progress``
    is told of each learner written. The caller commits."""
    if learners < 1 or cohort_size < 1:
        raise SynthError("Give at least one learner.")
    if versions not in (1, 2):
        raise SynthError("The synthetic cohorts follow one curriculum version or two.")
    cohorts = math.ceil(learners / cohort_size)
    if versions == 2 and cohorts < 2:
        raise SynthError(
            "Two curriculum versions need at least two cohorts: give at least "
            f"{cohort_size + 1} learners."
        )
    exists = db.session.scalar(select(Cohort.id).where(Cohort.code.startswith(COHORT_PREFIX)))
    if exists is not None:
        raise SynthError("Synthetic data is already in this database; use a fresh one.")
    builder = _Builder(learners, seed, cohort_size, versions)
    builder.make_instructors()
    left = learners
    for index in range(builder.cohorts):
        size = min(cohort_size, left)
        builder.cohort(index, size)
        left -= size
        if index % 10 == 9 or left == 0:
            builder.batch.write()
        if progress is not None:
            progress(size)
    _advance_sequences()
    builder.counters.rows.pop("synth_learners", None)
    return builder.counters
