"""Set-up for the certificate tests: eligible learners, and the real tools that read PDFs."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from lca.core.db import db
from lca.models import LogStatus, Module, ReportStatus
from tests.conftest import unavailable
from tests.factories import (
    EnrolmentFactory,
    FieldReportFactory,
    HourLogFactory,
    LearnerFactory,
)


def eligible_enrolment(cohort=None, **learner):
    """An enrolment with every module's hours approved and a passed field report."""
    enrolment = EnrolmentFactory(
        learner=LearnerFactory(**learner), **({"cohort": cohort} if cohort else {})
    )
    for module in db.session.scalars(select(Module).order_by(Module.number)):
        HourLogFactory(
            enrolment=enrolment,
            module=module,
            minutes=module.hours * 60,
            status=LogStatus.APPROVED,
            worked_on=enrolment.field_window_starts_on + timedelta(days=1),
        )
    FieldReportFactory(enrolment=enrolment, status=ReportStatus.PASSED)
    return enrolment


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (Debian: poppler-utils, zbar-tools)")
    return path


def pdf_text(pdf: bytes, tmp_path: Path, mode: str = "-raw") -> str:
    """What pdftotext reads from the PDF."""
    source = tmp_path / "read.pdf"
    source.write_bytes(pdf)
    args = [tool("pdftotext"), *([mode] if mode else []), str(source), "-"]
    return subprocess.run(args, capture_output=True, check=True, text=True).stdout


def qr_codes(pdf: bytes, tmp_path: Path) -> list[str]:
    """What a QR decoder reads from the rendered first page of the PDF."""
    source = tmp_path / "qr.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            tool("pdftoppm"),
            "-r",
            "150",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
        capture_output=True,
    )
    image = next(tmp_path.glob("page*.png"))
    result = subprocess.run(
        [tool("zbarimg"), "-q", "--raw", str(image)], capture_output=True, text=True, check=False
    )
    return [line for line in result.stdout.splitlines() if line]


def pdf_fonts(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "fonts.pdf"
    source.write_bytes(pdf)
    return subprocess.run(
        [tool("pdffonts"), str(source)], capture_output=True, text=True, check=True
    ).stdout
