"""All models, imported here so that Alembic and the app see the whole schema."""

from lca.models.audit import AuditEvent
from lca.models.cohorts import Cohort, Enrolment, EnrolmentStatus, cohort_instructors
from lca.models.curriculum import FieldMechanism, FieldTool, Module, ModuleKind
from lca.models.places import City
from lca.models.users import Role, User
from lca.orm import utcnow

__all__ = [
    "AuditEvent",
    "City",
    "Cohort",
    "Enrolment",
    "EnrolmentStatus",
    "FieldMechanism",
    "FieldTool",
    "Module",
    "ModuleKind",
    "Role",
    "User",
    "cohort_instructors",
    "utcnow",
]
