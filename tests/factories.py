"""factory_boy factories for every model; objects are flushed into the test's transaction.

Besides them: what the tests build often (an instructor teaching a cohort, an enrolment that
has met every requirement, the bodies of the hour-log forms, small images and PDFs) and the
look-ups of the seeded curriculum."""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path

import factory
from argon2 import PasswordHasher, profiles
from flask import current_app
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from lca.core.dates import local_today
from lca.core.db import db, utcnow
from lca.core.storage import storage
from lca.curriculum.services import current_version, modules_of
from lca.models import (
    Attendance,
    AttendanceStatus,
    AuditEvent,
    Certificate,
    CertificateLanguage,
    City,
    ClassSession,
    Cohort,
    Enrolment,
    EvidenceFile,
    FieldMechanism,
    FieldReport,
    FieldTool,
    FieldWindowExtension,
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
    Passkey,
    ReportFile,
    ReportStatus,
    Role,
    Rubric,
    RubricCriterion,
    User,
    cohort_instructors,
)

PASSWORD = "correct horse battery"
PASSWORD_HASH = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(PASSWORD)


class Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - the current scoped session
        sqlalchemy_session_persistence = "flush"


class CityFactory(Base):
    class Meta:
        model = City

    code = factory.Sequence(lambda n: f"test-city-{n}")
    name_th = factory.Sequence(lambda n: f"เมืองทดสอบ {n}")
    name_en = factory.Sequence(lambda n: f"Test City {n}")
    gnlc_joined_year = None


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name_th = factory.Sequence(lambda n: f"สมชาย ทดสอบ{n}")
    full_name_en = factory.Sequence(lambda n: f"Somchai Test{n}")
    role = Role.LEARNER
    city = factory.SubFactory(CityFactory)
    organisation = "เทศบาลทดสอบ"
    password_hash = PASSWORD_HASH
    #: the privacy notice shown at first sign-in: seen, unless a test is about it
    privacy_notice_seen_at = factory.LazyFunction(utcnow)


class LearnerFactory(UserFactory):
    role = Role.LEARNER


class InstructorFactory(UserFactory):
    role = Role.INSTRUCTOR
    city = None


class AdminFactory(UserFactory):
    role = Role.ADMIN
    city = None


class CohortFactory(Base):
    class Meta:
        model = Cohort

    code = factory.Sequence(lambda n: f"CA-TEST-{n:03d}")
    host_city = factory.SubFactory(CityFactory)
    starts_on = factory.LazyFunction(lambda: local_today() - timedelta(days=60))
    ends_on = factory.LazyAttribute(lambda o: o.starts_on + timedelta(days=240))
    field_starts_on = factory.LazyAttribute(lambda o: o.starts_on + timedelta(days=14))
    field_window_months = 6
    curriculum_version = factory.LazyFunction(lambda: current_version())

    @factory.post_generation
    def instructors(cohort, create, extracted, **_kwargs):
        for instructor in extracted or ():
            db.session.execute(
                cohort_instructors.insert().values(
                    cohort_id=cohort.id, instructor_id=instructor.id, assigned_at=utcnow()
                )
            )


class EnrolmentFactory(Base):
    class Meta:
        model = Enrolment

    cohort = factory.SubFactory(CohortFactory)
    learner = factory.SubFactory(LearnerFactory)


class ModuleFactory(Base):
    class Meta:
        model = Module

    version = factory.LazyFunction(lambda: current_version())
    number = factory.Sequence(lambda n: 100 + n)
    title_th = factory.Sequence(lambda n: f"กลุ่มวิชาทดสอบ {n}")
    title_en = factory.Sequence(lambda n: f"Test module {n}")
    hours = 6
    kind = ModuleKind.CLASSROOM
    description_th = "คำอธิบาย"
    description_en = "A description"


class FieldMechanismFactory(Base):
    class Meta:
        model = FieldMechanism

    code = factory.Sequence(lambda n: f"test-mechanism-{n}")
    number = factory.Sequence(lambda n: 100 + n)
    name_th = factory.Sequence(lambda n: f"กลไกทดสอบ {n}")
    name_en = factory.Sequence(lambda n: f"Test mechanism {n}")


class FieldToolFactory(Base):
    class Meta:
        model = FieldTool

    code = factory.Sequence(lambda n: f"test-tool-{n}")
    number = factory.Sequence(lambda n: 100 + n)
    name_th = factory.Sequence(lambda n: f"เครื่องมือทดสอบ {n}")
    name_en = factory.Sequence(lambda n: f"Test tool {n}")


class AuditEventFactory(Base):
    class Meta:
        model = AuditEvent

    actor = factory.SubFactory(AdminFactory)
    action = "test.action"
    target_type = "users"
    target_id = 1
    details = factory.LazyFunction(dict)
    origin = "127.0.0.1"


def module(number: int) -> Module:
    """The seeded module of that number (of the current curriculum version)."""
    version = current_version()
    return db.session.scalar(
        select(Module).where(Module.number == number, Module.version_id == version.id)
    )


def mechanism(code: str = "process") -> FieldMechanism:
    """A seeded field mechanism."""
    return db.session.scalar(select(FieldMechanism).where(FieldMechanism.code == code))


def field_tool(code: str = "participatory-mapping") -> FieldTool:
    """A seeded field tool."""
    return db.session.scalar(select(FieldTool).where(FieldTool.code == code))


class HourLogFactory(Base):
    """A learner's pending log of two hours for module 1, a week into the cohort."""

    class Meta:
        model = HourLog

    enrolment = factory.SubFactory(EnrolmentFactory)
    module = factory.LazyFunction(lambda: module(1))
    worked_on = factory.LazyAttribute(lambda o: o.enrolment.cohort.starts_on + timedelta(days=7))
    minutes = 120
    description = "เข้าร่วมกิจกรรมเรียนรู้"
    source = LogSource.LEARNER
    status = LogStatus.PENDING
    tools = factory.LazyFunction(list)


class EvidenceFileFactory(Base):
    """A real stored JPEG (and thumbnail) attached to a log."""

    class Meta:
        model = EvidenceFile

    hour_log = factory.SubFactory(HourLogFactory)
    storage_key = factory.LazyFunction(lambda: storage().save(tiny_jpeg(), ".jpg"))
    thumbnail_key = factory.LazyFunction(lambda: storage().save(tiny_jpeg(), ".jpg"))
    original_name = "photo.jpg"
    content_type = "image/jpeg"
    size_bytes = factory.LazyFunction(lambda: len(tiny_jpeg()))
    sha256 = "0" * 64


class HourLogNoteFactory(Base):
    class Meta:
        model = HourLogNote

    hour_log_id = factory.LazyAttribute(lambda o: HourLogFactory().id)
    author = factory.SubFactory(InstructorFactory)
    kind = NoteKind.QUESTION
    body = "ช่วยอธิบายเพิ่มเติม"


class ClassSessionFactory(Base):
    """A six-hour session of module 1, a week into the cohort."""

    class Meta:
        model = ClassSession

    cohort = factory.SubFactory(CohortFactory)
    module = factory.LazyFunction(lambda: module(1))
    held_on = factory.LazyAttribute(lambda o: o.cohort.starts_on + timedelta(days=7))
    starts_at = time(9, 0)
    minutes = 360
    place = "ห้องประชุม"


class AttendanceFactory(Base):
    class Meta:
        model = Attendance

    class_session = factory.SubFactory(ClassSessionFactory)
    enrolment = factory.SubFactory(
        EnrolmentFactory, cohort=factory.SelfAttribute("..class_session.cohort")
    )
    status = AttendanceStatus.ABSENT
    minutes = 0


class FieldWindowExtensionFactory(Base):
    class Meta:
        model = FieldWindowExtension

    enrolment = factory.SubFactory(EnrolmentFactory)
    previous_ends_on = factory.LazyAttribute(lambda o: o.enrolment.field_window_ends_on)
    extended_to = factory.LazyAttribute(lambda o: o.previous_ends_on + timedelta(days=30))
    reason = "ป่วย"


def current_rubric() -> Rubric:
    return db.session.scalar(select(Rubric).order_by(Rubric.version.desc()).limit(1))


class RubricFactory(Base):
    """A one-criterion rubric of its own version (the seeded one is the real rubric)."""

    class Meta:
        model = Rubric

    version = factory.Sequence(lambda n: 100 + n)
    pass_mark = 6
    max_points = 10
    fingerprint = factory.Sequence(lambda n: f"{n:064d}")


class RubricCriterionFactory(Base):
    class Meta:
        model = RubricCriterion

    rubric = factory.SubFactory(RubricFactory)
    code = factory.Sequence(lambda n: f"criterion-{n}")
    number = factory.Sequence(lambda n: n + 1)
    name_th = "เกณฑ์ทดสอบ"
    name_en = "Test criterion"
    max_points = 10
    levels = factory.LazyFunction(
        lambda: [{"min": 0, "max": 10, "text_th": "ทุกระดับ", "text_en": "Every level"}]
    )


class FieldReportFactory(Base):
    """A submitted field report drawing on one field log of its enrolment."""

    class Meta:
        model = FieldReport

    enrolment = factory.SubFactory(EnrolmentFactory)
    summary = "สรุปงานภาคสนาม"
    status = ReportStatus.SUBMITTED
    logs = factory.LazyAttribute(
        lambda o: [
            HourLogFactory(
                enrolment=o.enrolment,
                module=module(5),
                worked_on=o.enrolment.field_window_starts_on,
            )
        ]
    )


class ReportFileFactory(Base):
    class Meta:
        model = ReportFile

    field_report = factory.SubFactory(FieldReportFactory)
    storage_key = factory.LazyFunction(lambda: storage().save(tiny_jpeg(), ".jpg"))
    thumbnail_key = factory.LazyFunction(lambda: storage().save(tiny_jpeg(), ".jpg"))
    original_name = "report-photo.jpg"
    content_type = "image/jpeg"
    size_bytes = factory.LazyFunction(lambda: len(tiny_jpeg()))
    sha256 = "0" * 64


class GradeFactory(Base):
    """A passing grade under the current rubric, full points on every criterion."""

    class Meta:
        model = Grade

    field_report = factory.SubFactory(FieldReportFactory, status=ReportStatus.PASSED)
    rubric = factory.LazyFunction(current_rubric)
    grader = factory.SubFactory(InstructorFactory)
    result = GradeResult.PASS
    total_points = factory.LazyAttribute(lambda o: o.rubric.max_points)
    feedback = "ดีมาก"

    @factory.post_generation
    def scores(grade, create, extracted, **_kwargs):
        for criterion in grade.rubric.criteria:
            GradeScoreFactory(grade=grade, criterion=criterion, points=criterion.max_points)


class GradeScoreFactory(Base):
    class Meta:
        model = GradeScore

    grade = None
    criterion = None
    points = 0
    comment = ""


@functools.cache
def one_page_pdf() -> bytes:
    """A real one-page PDF, to stand for a certificate's stored bytes."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    return bytes(pdf.output())


def certificate_snapshot(o) -> dict:
    """What a certificate of this factory says (the shape the services write)."""
    from lca.certificates.issuer import load_issuer

    learner, cohort = o.enrolment.learner, o.enrolment.cohort
    return {
        "serial": o.serial,
        "code": o.code,
        "code_display": o.code,
        "language": "both",
        "verify_url": f"http://127.0.0.1:5000/verify/{o.code}",
        "issued_at": "2026-11-22T05:00:00+00:00",
        "issued_on": "2026-11-22",
        "learner": {
            "name_th": learner.full_name_th,
            "name_en": learner.full_name_en or "",
            "email": learner.email,
        },
        "cohort": {
            "code": cohort.code,
            "host_city_th": "พะเยา",
            "host_city_en": "Phayao",
            "starts_on": cohort.starts_on.isoformat(),
            "ends_on": cohort.ends_on.isoformat(),
        },
        "modules": [
            {
                "number": n,
                "title_th": f"กลุ่มวิชาที่ {n}",
                "title_en": f"Module {n}",
                "hours": 9 if n == 5 else 6,
                "approved_hours": 9 if n == 5 else 6,
            }
            for n in range(1, 8)
        ],
        "total_hours": 45,
        "serial_year": o.serial_year,
        "serial_number": o.serial_number,
        "activity_started_on": cohort.starts_on.isoformat(),
        "activity_ended_on": "2026-11-22",
        **load_issuer(),
    }


class CertificateFactory(Base):
    """A valid certificate whose PDF is really stored."""

    class Meta:
        model = Certificate

    enrolment = factory.SubFactory(EnrolmentFactory)
    serial_year = 2569
    serial_number = factory.Sequence(lambda n: 9000 + n)
    serial = factory.LazyAttribute(lambda o: f"CA-{o.serial_year}-{o.serial_number:04d}")
    code = factory.Sequence(
        lambda n: (
            f"TESTCODE{n:024d}".replace("0", "A")
            .replace("1", "B")
            .replace("8", "C")
            .replace("9", "D")[:32]
        )
    )
    language = CertificateLanguage.BOTH
    snapshot = factory.LazyAttribute(certificate_snapshot)
    pdf_key = factory.LazyFunction(lambda: storage().save(one_page_pdf(), ".pdf"))
    pdf_sha256 = factory.LazyFunction(lambda: hashlib.sha256(one_page_pdf()).hexdigest())
    pdf_size = factory.LazyFunction(lambda: len(one_page_pdf()))
    #: a place in the revocation status list of its own (issued ones draw it at random)
    status_index = factory.Sequence(lambda n: (n * 7919 + 11) % 131_072)


def tiny_jpeg(colour: str = "green", size: tuple[int, int] = (8, 8)) -> bytes:
    """A real, small JPEG."""
    image = Image.new("RGB", size, colour)
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def count_rows(model) -> int:
    """How many rows a table holds now (to show that a refused action wrote nothing)."""
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(model))


def table_rows(*tables) -> dict[str, list[tuple[str, ...]]]:
    """Every row of these models or tables, as sorted tuples of strings (``updated_at`` left
    out), to show that an action changed nothing, or that doing it twice changed nothing more."""
    rows = {}
    for each in tables:
        table = getattr(each, "__table__", each)
        columns = [c for c in table.columns if c.name != "updated_at"]
        rows[table.name] = sorted(
            tuple(str(value) for value in row) for row in db.session.execute(select(*columns))
        )
    return rows


def edit_yaml(path: Path, change) -> None:
    """Change a copy of a seed file: ``change(data)`` edits the parsed YAML in place."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def stored_files() -> int:
    """How many files the storage holds now."""
    root = Path(current_app.config["LCA_DATA_DIR"]) / "files"
    return sum(1 for path in root.rglob("*") if path.is_file()) if root.exists() else 0


def image_bytes(kind: str = "JPEG", size=(32, 24)) -> bytes:
    """An orange image in ``kind`` (a Pillow format name)."""
    out = io.BytesIO()
    Image.new("RGB", size, "orange").save(out, kind)
    return out.getvalue()


#: a real one-page PDF, as a learner's evidence (a PDF without a page is refused)
PDF = one_page_pdf()


def multipart(data: dict) -> dict:
    """``client.post`` arguments for a form with files, encoded in memory.

    (The test client would spool large bodies to temporary files that it never closes.)
    """
    values = MultiDict()
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                item = FileStorage(item[0], filename=item[1])
            values.add(key, item)
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def field_form(enrolment, files=None, **overrides) -> dict:
    """``client.post`` arguments for a valid field-practice log of ``enrolment``, ten days
    ago, with one photo."""
    data = {
        "enrolment_id": str(enrolment.id),
        "module_id": str(module(5).id),
        "worked_on": (local_today() - timedelta(days=10)).isoformat(),
        "hours": "2.5",
        "description": "จัดเวทีชวนชุมชนทำแผนที่แหล่งเรียนรู้",
        "mechanism_id": str(mechanism().id),
        "tool_ids": [str(field_tool().id)],
        "place": "ศาลาประชาคม",
        "files": files if files is not None else [(io.BytesIO(tiny_jpeg()), "ภาพกิจกรรม.jpg")],
    }
    data.update(overrides)
    return multipart(data)


def classroom_form(enrolment, **overrides) -> dict:
    """A valid log of two hours for module 1, ten days ago."""
    data = {
        "enrolment_id": str(enrolment.id),
        "module_id": str(module(1).id),
        "worked_on": (local_today() - timedelta(days=10)).isoformat(),
        "hours": "2",
        "description": "ทบทวนเนื้อหาเมืองแห่งการเรียนรู้กับกลุ่ม",
    }
    data.update(overrides)
    return data


@dataclass
class Teaching:
    """An instructor teaching a cohort, and the enrolments of its learners."""

    instructor: User
    cohort: Cohort
    enrolments: list[Enrolment] = field(default_factory=list)

    @property
    def enrolment(self) -> Enrolment:
        """The first learner's enrolment."""
        return self.enrolments[0]


def instructor_teaching(learners: int = 1, **cohort) -> Teaching:
    """An instructor assigned to a new cohort (``cohort`` sets its fields) of ``learners``."""
    instructor = InstructorFactory()
    taught = CohortFactory(instructors=[instructor], **cohort)
    enrolments = [EnrolmentFactory(cohort=taught) for _ in range(learners)]
    return Teaching(instructor, taught, enrolments)


def eligible_enrolment(cohort=None, **learner) -> Enrolment:
    """An enrolment with every module's hours approved and a passed field report."""
    enrolment = EnrolmentFactory(
        learner=LearnerFactory(**learner), **({"cohort": cohort} if cohort else {})
    )
    for each in modules_of(enrolment.cohort.curriculum_version_id):
        HourLogFactory(
            enrolment=enrolment,
            module=each,
            minutes=each.hours * 60,
            status=LogStatus.APPROVED,
            worked_on=enrolment.field_window_starts_on + timedelta(days=1),
        )
    FieldReportFactory(enrolment=enrolment, status=ReportStatus.PASSED)
    return enrolment


def open_badge_credential(
    issuer: str,
    subject: str = "urn:uuid:3f1c2a9e-8d4b-4c1e-9a57-0b6d2e7f4c11",
    public: str = "https://lca.example.go.th",
    status: dict | None = None,
) -> dict:
    """An unsigned Open Badges 3.0 credential of the shape and size LCA issues (Thai texts,
    two identity objects, the achievement with its criteria and the seven modules' hours as
    results), with ``issuer`` as the issuer's id and, if given, ``status`` as its
    credentialStatus; it needs no database, for the proof and the outside verifiers."""
    achievement = f"{public}/achievements/city-administrator"
    modules = [(n, 9 if n == 5 else 6) for n in range(1, 8)]
    credential = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": f"{public}/verify/K7QX-2M9P-4TVA/credential.json",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": issuer,
            "type": ["Profile"],
            "name": "วิทยาลัยนักบริหารเมือง",
            "url": "https://www.example.go.th/",
            "email": "certificates@example.go.th",
        },
        "name": "หลักสูตรนักบริหารเมือง (City Administrator)",
        "description": "หลักสูตรพัฒนาผู้บริหารท้องถิ่น เจ็ดกลุ่มวิชา และการฝึกภาคสนาม",
        "image": {"id": f"{public}/verify/K7QX-2M9P-4TVA/badge.png", "type": "Image"},
        "validFrom": "2026-11-22T05:00:00Z",
        "awardedDate": "2026-11-22T05:00:00Z",
        "credentialSubject": {
            "id": subject,
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": "นางสาวสมศรี ใจดี",
                },
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": "sha256$" + hashlib.sha256(b"somsri@example.org").hexdigest(),
                    "salt": "5d1f0c9a7be34a21",
                },
            ],
            "achievement": {
                "id": achievement,
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": "หลักสูตรนักบริหารเมือง",
                "description": "ผู้ผ่านหลักสูตรได้เรียนครบเจ็ดกลุ่มวิชาและผ่านรายงานภาคสนาม",
                "criteria": {
                    "narrative": "เข้าเรียนและบันทึกชั่วโมงครบทุกกลุ่มวิชา "
                    "(รวม 45 ชั่วโมง) และรายงานการฝึกภาคสนามผ่านการประเมิน"
                },
                "image": {"id": f"{public}/static/badge.png", "type": "Image"},
                "humanCode": "CA",
                "inLanguage": "th",
                "creditsAvailable": 45,
                "resultDescription": [
                    {
                        "id": f"{achievement}#module-{n}",
                        "type": ["ResultDescription"],
                        "name": f"กลุ่มวิชาที่ {n} (ชั่วโมง)",
                        "resultType": "ext:Hours",
                        "requiredValue": str(hours),
                    }
                    for n, hours in modules
                ],
                "related": [{"id": f"{achievement}/en", "type": ["Related"], "inLanguage": "en"}],
            },
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": f"{achievement}#module-{n}",
                    "value": str(hours),
                }
                for n, hours in modules
            ],
            "creditsEarned": 45,
            "activityStartDate": "2026-06-01T00:00:00Z",
            "activityEndDate": "2026-11-22T00:00:00Z",
        },
    }
    if status is not None:
        credential["credentialStatus"] = status
    return credential


class PasskeyFactory(Base):
    """A passkey row (its key is random bytes: enough for the pages, not for a real sign-in,
    which the browser journey does with Chromium's virtual authenticator)."""

    class Meta:
        model = Passkey

    user = factory.SubFactory(LearnerFactory)
    credential_id = factory.Sequence(lambda n: hashlib.sha256(f"credential-{n}".encode()).digest())
    public_key = b"\xa5" * 77
    name = factory.Sequence(lambda n: f"Phone {n}")


#: the authenticator-app key that ``with_authenticator_app`` gives an account
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def with_authenticator_app(user: User, secret: str = TOTP_SECRET) -> User:
    """``user`` with a confirmed authenticator app (a second factor) whose key is ``secret``."""
    user.totp_secret, user.totp_confirmed_at = secret, utcnow()
    db.session.flush()
    return user


def totp_code(secret: str = TOTP_SECRET, steps_ahead: int = 0) -> str:
    """The app's code now (or ``steps_ahead`` 30-second steps later), as a phone would show it."""
    import time as clock

    import pyotp

    totp = pyotp.TOTP(secret)
    return totp.at(int(clock.time()) + steps_ahead * totp.interval)


def later_version(
    name_th: str = "CA 48 ชั่วโมง, 2570",
    name_en: str = "CA 48 hours, 2027",
    *,
    field_hours: int = 12,
    drop_modules: tuple[int, ...] = (),
    drop_mechanisms: tuple[str, ...] = (),
):
    """A new curriculum version made from the current one (it becomes the current one): field
    practice of ``field_hours`` (12 instead of 9: 48 hours in all), without ``drop_modules`` and
    the mechanisms of ``drop_mechanisms``."""
    from lca.curriculum.services import field_catalogues_of
    from lca.curriculum.versions import VersionPlan, create_version

    first = current_version()
    rows = [
        {
            "number": m.number,
            "title_th": m.title_th,
            "title_en": m.title_en,
            "hours": field_hours if m.kind is ModuleKind.FIELD else m.hours,
            "kind": m.kind,
            "description_th": m.description_th,
            "description_en": m.description_en,
            "field_window_months": m.field_window_months,
        }
        for m in modules_of(first.id)
        if m.number not in drop_modules
    ]
    mechanisms, tools = field_catalogues_of(first.id)
    plan = VersionPlan(
        rows,
        [m.code for m in mechanisms if m.code not in drop_mechanisms],
        [t.code for t in tools],
        name_th,
        name_en,
    )
    return create_version(plan, ["made by a test"]).version


def module_of(version, number: int) -> Module:
    """The module of that number in ``version``."""
    return db.session.scalar(
        select(Module).where(Module.number == number, Module.version_id == version.id)
    )
