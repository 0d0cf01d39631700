"""What happened before a journey starts, done through the services on the journey's server."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select

from lca.certificates.services import issue_certificate
from lca.core.db import db
from lca.core.storage import storage
from lca.models import City, Cohort, Enrolment, User
from tests.certificate_helpers import eligible_enrolment

#: a second learner who has met every requirement, besides the demo's graduate
DUANGJAI = {"th": "ดวงใจ รักษ์เมือง", "en": "Duangjai Rakmueang"}


@dataclass
class Issued:
    serial: str
    code: str
    pdf: bytes


def issue_certificate_of(app: Flask, email: str) -> Issued:
    """The administrator issues this learner's certificate (the admin journey does it through
    the pages); returns its serial, code and the PDF as issued."""
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@example.org"))
        enrolment = db.session.scalar(
            select(Enrolment).join(Enrolment.learner).where(User.email == email)
        )
        certificate = issue_certificate(enrolment, admin)
        db.session.commit()
        with storage().open(certificate.pdf_key) as file:
            issued = Issued(certificate.serial, certificate.code, file.read())
        db.session.remove()
    return issued


def add_a_second_graduate(app: Flask) -> None:
    """Duangjai, from Phayao, joins the demo cohort with every requirement met."""
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.code == "CA-2569-01"))
        phayao = db.session.scalar(select(City).where(City.code == "phayao"))
        eligible_enrolment(
            cohort,
            email="duangjai@example.org",
            full_name_th=DUANGJAI["th"],
            full_name_en=DUANGJAI["en"],
            city=phayao,
        )
        db.session.commit()
        db.session.remove()
