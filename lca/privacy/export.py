"""Access and portability (PDPA §30–31): everything LCA holds about one person, as a ZIP of
JSON files and the original files they uploaded.

The archive is written to a temporary file (evidence may be large), never built in memory;
each stored file is copied into it in chunks."""

from __future__ import annotations

import enum
import json
import mimetypes
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from lca.core.audit import record
from lca.core.db import db
from lca.core.security_log import security_event
from lca.core.storage import storage
from lca.models import (
    AuditEvent,
    Certificate,
    Enrolment,
    EvidenceFile,
    FieldReport,
    Grade,
    HourLog,
    Message,
    ReportFile,
    User,
    UserSession,
)

README = """\
ข้อมูลส่วนบุคคลของท่านในระบบ LCA (หลักสูตรนักจัดการเมืองแห่งการเรียนรู้)
=====================================================================

ไฟล์นี้รวบรวมข้อมูลทั้งหมดที่ระบบ LCA เก็บไว้เกี่ยวกับท่าน ณ เวลาที่ดาวน์โหลด ตามสิทธิของ
เจ้าของข้อมูลในการเข้าถึงและขอรับข้อมูลส่วนบุคคล (พระราชบัญญัติคุ้มครองข้อมูลส่วนบุคคล
พ.ศ. 2562 มาตรา 30 และมาตรา 31) ไฟล์ JSON เปิดอ่านได้ด้วยโปรแกรมแก้ไขข้อความทั่วไป
วันและเวลาเป็นเวลาสากลเชิงพิกัด (UTC) ตามรูปแบบ ISO 8601

profile.json         ข้อมูลบัญชีผู้ใช้ (ชื่อ อีเมล บทบาท เมือง หน่วยงาน ภาษาที่เลือก วันที่ต่าง ๆ)
enrolments.json      การลงทะเบียนเรียนในแต่ละรุ่น และการขยายช่วงปฏิบัติการในพื้นที่
hour_logs.json       บันทึกชั่วโมงเรียน พร้อมข้อความสนทนากับผู้ตรวจ และรายการไฟล์หลักฐาน
field_reports.json   รายงานการปฏิบัติการในพื้นที่ ผลการประเมิน คะแนน และความเห็น
certificates.json    วุฒิบัตรที่ออกให้ท่าน (เลขที่ รหัสตรวจสอบ สถานะ และข้อมูล ณ วันที่ออก)
audit_events.json    บันทึกการใช้งานที่ท่านเป็นผู้กระทำ หรือที่เกี่ยวกับข้อมูลของท่าน
sessions.json        การเข้าสู่ระบบจากอุปกรณ์ต่าง ๆ
messages.json        ข้อความและอีเมลที่ระบบส่งถึงท่าน
files/               ไฟล์หลักฐานและไฟล์แนบรายงานตามที่อัปโหลดไว้ (ชื่อเดิมของไฟล์อยู่ใน
                     hour_logs.json และ field_reports.json)

หากข้อมูลใดไม่ถูกต้อง หรือท่านประสงค์จะใช้สิทธิอื่น โปรดติดต่อผู้ควบคุมข้อมูลส่วนบุคคล
ของหลักสูตรตามช่องทางที่แจ้งไว้ในประกาศความเป็นส่วนตัว (หน้า /privacy)


Your personal data in LCA (the City Administrator course)
=========================================================

This file holds everything LCA keeps about you at the time of the download, under your
rights of access and data portability (Personal Data Protection Act B.E. 2562, sections 30
and 31). The JSON files open in any text editor; dates and times are UTC, in ISO 8601.

profile.json         your account (names, e-mail, role, city, organisation, language, dates)
enrolments.json      your enrolments in cohorts, and changes of your field-practice window
hour_logs.json       your hour logs, the conversation with reviewers, and the evidence files
field_reports.json   your field report, its gradings, scores and feedback
certificates.json    the certificates issued to you (serial, code, status, what they say)
audit_events.json    the recorded actions you took, or that concern your records
sessions.json        your sign-ins from each device
messages.json        the messages and e-mails LCA sent you
files/               the evidence and report files as you uploaded them (their original names
                     are in hour_logs.json and field_reports.json)

If anything is wrong, or to use another of your rights, contact the programme's data
controller as the privacy notice says (the page /privacy).
"""


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def _row(obj: Any, *names: str) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in names}


FILE_COLUMNS = (
    "id",
    "original_name",
    "content_type",
    "size_bytes",
    "sha256",
    "uploaded_at",
    "place",
)


def file_name(prefix: str, stored: EvidenceFile | ReportFile) -> str:
    """Where a stored file goes in the archive: named by its kind and id, with the extension of
    its detected type (never the uploaded name, which is in the JSON)."""
    extension = mimetypes.guess_extension(stored.content_type) or ".bin"
    return f"files/{prefix}/{stored.id}{extension}"


def _profile(user: User) -> dict[str, Any]:
    profile = _row(
        user,
        "id",
        "email",
        "full_name_th",
        "full_name_en",
        "role",
        "organisation",
        "preferred_language",
        "is_active",
        "wants_reminders",
        "wants_digests",
        "created_at",
        "updated_at",
        "last_login_at",
        "deactivated_at",
        "privacy_notice_seen_at",
        "erased_at",
        "subject_uuid",
    )
    profile["city"] = (
        {"code": user.city.code, "name_th": user.city.name_th, "name_en": user.city.name_en}
        if user.city
        else None
    )
    profile["second_factor_app"] = user.totp_confirmed_at is not None
    return profile


def _enrolments(enrolments: list[Enrolment]) -> list[dict[str, Any]]:
    from lca.models import FieldWindowExtension

    extensions = db.session.scalars(
        select(FieldWindowExtension)
        .where(FieldWindowExtension.enrolment_id.in_([e.id for e in enrolments]))
        .order_by(FieldWindowExtension.id)
    )
    by_enrolment: dict[int, list[dict[str, Any]]] = {}
    for extension in extensions:
        by_enrolment.setdefault(extension.enrolment_id, []).append(
            _row(extension, "previous_ends_on", "extended_to", "reason", "granted_at")
        )
    return [
        {
            **_row(e, "id", "status", "enrolled_at", "withdrawn_at", "withdrawal_reason"),
            "cohort": e.cohort.code,
            "field_window": [
                _plain(e.field_window_starts_on),
                _plain(e.field_window_ends_on),
            ],
            "field_window_changes": by_enrolment.get(e.id, []),
        }
        for e in enrolments
    ]


def _hour_logs(enrolment_ids: list[int]) -> list[HourLog]:
    return list(
        db.session.scalars(
            select(HourLog)
            .where(HourLog.enrolment_id.in_(enrolment_ids))
            .options(
                selectinload(HourLog.evidence),
                selectinload(HourLog.notes),
                selectinload(HourLog.tools),
            )
            .order_by(HourLog.worked_on, HourLog.id)
        )
    )


def _log_json(log: HourLog) -> dict[str, Any]:
    return {
        **_row(
            log,
            "id",
            "enrolment_id",
            "worked_on",
            "starts_at",
            "minutes",
            "description",
            "source",
            "status",
            "place",
            "submitted_at",
            "reviewed_at",
            "created_at",
            "updated_at",
            "evidence_removed_at",
        ),
        "module": log.module.number,
        "mechanism": log.mechanism.code if log.mechanism else None,
        "tools": [tool.code for tool in log.tools],
        "notes": [
            {
                **_row(note, "kind", "body", "created_at"),
                "by_me": note.author_id == log.enrolment.learner_id,
            }
            for note in log.notes
        ],
        "evidence": [
            {**_row(item, *FILE_COLUMNS), "file": file_name("evidence", item)}
            for item in log.evidence
        ],
    }


def _reports(enrolment_ids: list[int]) -> list[FieldReport]:
    return list(
        db.session.scalars(
            select(FieldReport)
            .where(FieldReport.enrolment_id.in_(enrolment_ids))
            .options(
                selectinload(FieldReport.files),
                selectinload(FieldReport.grades).selectinload(Grade.scores),
                selectinload(FieldReport.logs),
            )
            .order_by(FieldReport.id)
        )
    )


def _report_json(report: FieldReport) -> dict[str, Any]:
    return {
        **_row(
            report,
            "id",
            "enrolment_id",
            "summary",
            "status",
            "submitted_at",
            "created_at",
            "updated_at",
            "files_removed_at",
        ),
        "hour_logs": [log.id for log in report.logs],
        "files": [
            {**_row(item, *FILE_COLUMNS), "file": file_name("reports", item)}
            for item in report.files
        ],
        "grades": [
            {
                **_row(grade, "result", "total_points", "feedback", "graded_at"),
                "rubric_version": grade.rubric.version,
                "scores": [
                    {"criterion": s.criterion.code, "points": s.points, "comment": s.comment}
                    for s in grade.scores
                ],
            }
            for grade in report.grades
        ],
    }


def _certificates(enrolment_ids: list[int]) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(Certificate)
        .where(Certificate.enrolment_id.in_(enrolment_ids))
        .order_by(Certificate.id)
    )
    return [
        _row(
            c,
            "id",
            "serial",
            "code",
            "status",
            "language",
            "issued_at",
            "revoked_at",
            "revocation_reason",
            "reissue_reason",
            "pdf_sha256",
            "snapshot",
        )
        for c in rows
    ]


def audit_events_of(
    user: User, enrolment_ids: list[int], log_ids: list[int]
) -> Iterable[AuditEvent]:
    """The audit events the person did, or that are about the person or their records."""
    reports = select(FieldReport.id).where(FieldReport.enrolment_id.in_(enrolment_ids))
    certificates = select(Certificate.id).where(Certificate.enrolment_id.in_(enrolment_ids))
    targets = [
        (AuditEvent.target_type == "users") & (AuditEvent.target_id == user.id),
        (AuditEvent.target_type == "enrolments") & AuditEvent.target_id.in_(enrolment_ids),
        (AuditEvent.target_type == "hour_logs") & AuditEvent.target_id.in_(log_ids),
        (AuditEvent.target_type == "field_reports") & AuditEvent.target_id.in_(reports),
        (AuditEvent.target_type == "certificates") & AuditEvent.target_id.in_(certificates),
    ]
    return db.session.scalars(
        select(AuditEvent)
        .where(or_(AuditEvent.actor_id == user.id, *targets))
        .order_by(AuditEvent.id)
        .execution_options(yield_per=500)
    )


def _sessions(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    )
    return [
        _row(
            s,
            "created_at",
            "last_seen_at",
            "ended_at",
            "user_agent",
            "address",
            "remember",
            "second_factor",
        )
        for s in rows
    ]


def _messages(user: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(Message).where(Message.recipient_id == user.id).order_by(Message.id)
    )
    messages = []
    for m in rows:
        params = {k: v for k, v in (m.params or {}).items() if k != "token"}  # a link's secret
        messages.append(
            {
                **_row(
                    m, "id", "kind", "language", "created_at", "email_status", "sent_at", "read_at"
                ),
                "says": params,
            }
        )
    return messages


def _write_json(archive: zipfile.ZipFile, name: str, data: Any) -> None:
    archive.writestr(name, json.dumps(data, ensure_ascii=False, indent=2, default=_plain) + "\n")


def _copy_file(archive: zipfile.ZipFile, name: str, key: str) -> None:
    if not storage().exists(key):
        return
    with storage().open(key) as source, archive.open(name, "w", force_zip64=True) as target:
        shutil.copyfileobj(source, target, 64 * 1024)


def write_personal_data(user: User, out: IO[bytes]) -> None:
    """Write the ZIP of everything LCA holds about ``user`` to ``out``."""
    enrolments = list(
        db.session.scalars(
            select(Enrolment).where(Enrolment.learner_id == user.id).order_by(Enrolment.id)
        )
    )
    enrolment_ids = [e.id for e in enrolments]
    logs = _hour_logs(enrolment_ids)
    reports = _reports(enrolment_ids)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README)
        _write_json(archive, "profile.json", _profile(user))
        _write_json(archive, "enrolments.json", _enrolments(enrolments))
        _write_json(archive, "hour_logs.json", [_log_json(log) for log in logs])
        _write_json(archive, "field_reports.json", [_report_json(r) for r in reports])
        _write_json(archive, "certificates.json", _certificates(enrolment_ids))
        events = [
            _row(e, "occurred_at", "action", "target_type", "target_id", "details", "origin")
            | {"by_me": e.actor_id == user.id}
            for e in audit_events_of(user, enrolment_ids, [log.id for log in logs])
        ]
        _write_json(archive, "audit_events.json", events)
        _write_json(archive, "sessions.json", _sessions(user))
        _write_json(archive, "messages.json", _messages(user))
        for log in logs:
            for item in log.evidence:
                _copy_file(archive, file_name("evidence", item), item.storage_key)
        for report in reports:
            for attached in report.files:
                _copy_file(archive, file_name("reports", attached), attached.storage_key)


def export_personal_data(user: User, actor: User) -> IO[bytes]:
    """The ZIP of everything LCA holds about ``user``, in a temporary file (read from the
    start); the export is audited and written as a security event."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the download is sent
    try:
        write_personal_data(user, spool)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    record(actor, "personal_data.export", user, bytes=size, own=actor.id == user.id)
    security_event(
        "personal_data.export", actor_id=actor.id, subject_id=user.id, own=actor.id == user.id
    )
    db.session.flush()
    return spool
