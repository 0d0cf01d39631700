"""All models, imported here so that Alembic and the app see the whole schema."""

from lca.core.db import utcnow
from lca.models.assessment import (
    FieldReport,
    Grade,
    GradeResult,
    GradeScore,
    ReportFile,
    ReportReopening,
    ReportStatus,
    Rubric,
    RubricCriterion,
    field_report_logs,
)
from lca.models.audit import AuditEvent
from lca.models.certificates import (
    Certificate,
    CertificateLanguage,
    CertificateStatus,
    SerialCounter,
)
from lca.models.check_in import CheckIn, CheckInPoint, ScanKind
from lca.models.cohorts import (
    Cohort,
    CurriculumMove,
    Enrolment,
    EnrolmentStatus,
    cohort_instructors,
)
from lca.models.curriculum import (
    CurriculumVersion,
    FieldMechanism,
    FieldTool,
    Module,
    ModuleKind,
    curriculum_version_mechanisms,
    curriculum_version_tools,
)
from lca.models.hours import (
    Attendance,
    AttendanceStatus,
    ClassSession,
    DraftFile,
    EvidenceFile,
    FieldWindowExtension,
    HourLog,
    HourLogNote,
    LogSource,
    LogStatus,
    NoteKind,
    hour_log_tools,
)
from lca.models.limits import RateLimitCounter
from lca.models.messages import EmailStatus, Message, MessageKind
from lca.models.places import City
from lca.models.users import Passkey, RecoveryCode, Role, User, UserSession

__all__ = [
    "Attendance",
    "AttendanceStatus",
    "AuditEvent",
    "Certificate",
    "CertificateLanguage",
    "CertificateStatus",
    "CheckIn",
    "CheckInPoint",
    "City",
    "ClassSession",
    "Cohort",
    "CurriculumMove",
    "CurriculumVersion",
    "DraftFile",
    "EmailStatus",
    "Enrolment",
    "EnrolmentStatus",
    "EvidenceFile",
    "FieldMechanism",
    "FieldReport",
    "FieldTool",
    "FieldWindowExtension",
    "Grade",
    "GradeResult",
    "GradeScore",
    "HourLog",
    "HourLogNote",
    "LogSource",
    "LogStatus",
    "Message",
    "MessageKind",
    "Module",
    "ModuleKind",
    "NoteKind",
    "Passkey",
    "RateLimitCounter",
    "RecoveryCode",
    "ReportFile",
    "ReportReopening",
    "ReportStatus",
    "Role",
    "Rubric",
    "RubricCriterion",
    "ScanKind",
    "SerialCounter",
    "User",
    "UserSession",
    "cohort_instructors",
    "curriculum_version_mechanisms",
    "curriculum_version_tools",
    "field_report_logs",
    "hour_log_tools",
    "utcnow",
]
