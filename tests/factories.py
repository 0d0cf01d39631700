"""factory_boy factories for every model; objects are flushed into the test's transaction."""

from __future__ import annotations

from datetime import timedelta

import factory
from argon2 import PasswordHasher, profiles
from sqlalchemy import select

from lca.dates import local_today
from lca.extensions import db
from lca.models import (
    AuditEvent,
    City,
    Cohort,
    Enrolment,
    FieldMechanism,
    FieldTool,
    Module,
    ModuleKind,
    Role,
    User,
    cohort_instructors,
)
from lca.orm import utcnow

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


def count_rows(model) -> int:
    """How many rows a table holds now (to show that a refused action wrote nothing)."""
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(model))
