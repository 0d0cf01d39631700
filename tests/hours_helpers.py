"""Shared set-up for the hours-ledger tests."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from flask import current_app
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from lca.core.dates import local_today
from lca.core.db import db
from lca.models import FieldMechanism, FieldTool, Module
from tests.factories import tiny_jpeg


def module(number: int) -> Module:
    return db.session.scalar(select(Module).where(Module.number == number))


def mechanism(code: str = "process") -> FieldMechanism:
    return db.session.scalar(select(FieldMechanism).where(FieldMechanism.code == code))


def tool(code: str = "participatory-mapping") -> FieldTool:
    return db.session.scalar(select(FieldTool).where(FieldTool.code == code))


def stored_files() -> int:
    """How many files the storage holds now."""
    root = Path(current_app.config["LCA_DATA_DIR"]) / "files"
    return sum(1 for path in root.rglob("*") if path.is_file()) if root.exists() else 0


def image_bytes(kind: str = "JPEG", size=(32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "orange").save(out, kind)
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
    b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


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
        "tool_ids": [str(tool().id)],
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
