"""Certificates name the curriculum version their cohort followed: in the snapshot, on the PDF,
on the certificate and verify pages, and as the credential's achievement version; a learner of a
later version is certified for that version's hours."""

from __future__ import annotations

from sqlalchemy import select

from lca.certificates.credential import check_credential
from lca.curriculum.services import current_version
from lca.hours.progress import progress_of
from lca.models import Certificate
from tests.factories import CertificateFactory, CohortFactory, eligible_enrolment, later_version

FIRST_TH, FIRST_EN = "CA 45 ชั่วโมง, 2567", "CA 45 hours, 2024"


def _issue(client, enrolment) -> Certificate:
    response = client.post(f"/enrolments/{enrolment.id}/certificate", data={"language": "both"})
    assert response.status_code == 302
    return client.application.extensions["sqlalchemy"].session.scalar(
        select(Certificate).where(Certificate.enrolment_id == enrolment.id)
    )


def test_a_certificate_names_the_curriculum_its_cohort_followed(
    admin_client, db, tmp_path, pdf_text
):
    certificate = _issue(admin_client, eligible_enrolment(full_name_th="ฟ้าใส ญาติดี"))
    assert certificate.snapshot["curriculum"] == {
        "number": 1,
        "name_th": FIRST_TH,
        "name_en": FIRST_EN,
    }
    text = pdf_text(certificate_pdf(admin_client, certificate), tmp_path)
    assert f"หลักสูตร {FIRST_TH} · Curriculum {FIRST_EN}" in " ".join(text.split())
    page = admin_client.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert FIRST_TH in page
    verify = admin_client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert FIRST_TH in verify
    english = admin_client.get(
        f"/verify/{certificate.code}?lang=en", follow_redirects=True
    ).get_data(as_text=True)
    assert FIRST_EN in english
    served = admin_client.get(f"/verify/{certificate.code}/credential.json")
    achievement = served.get_json()["credentialSubject"]["achievement"]
    assert achievement["version"] == FIRST_EN  # a certificate in both languages: English
    assert check_credential(served.get_data(as_text=True)).genuine


def test_a_learner_of_a_later_version_is_certified_for_its_hours(
    admin_client, db, tmp_path, pdf_text
):
    later = later_version()
    cohort = CohortFactory(curriculum_version=later)
    enrolment = eligible_enrolment(cohort=cohort, full_name_th="ดาวเหนือ ใจงาม")
    certificate = _issue(admin_client, enrolment)
    snapshot = certificate.snapshot
    assert snapshot["total_hours"] == 48
    assert snapshot["curriculum"]["name_th"] == "CA 48 ชั่วโมง, 2570"
    assert [m["hours"] for m in snapshot["modules"]] == [6, 6, 6, 6, 12, 6, 6]
    text = " ".join(pdf_text(certificate_pdf(admin_client, certificate), tmp_path).split())
    assert "จำนวน 48 ชั่วโมง" in text
    assert "หลักสูตร CA 48 ชั่วโมง, 2570" in text
    credential = admin_client.get(f"/verify/{certificate.code}/credential.json").get_json()
    subject = credential["credentialSubject"]
    assert subject["achievement"]["creditsAvailable"] == 48
    assert subject["achievement"]["version"] == "CA 48 hours, 2027"
    field = [d for d in subject["achievement"]["resultDescription"] if d["id"].endswith("-5")]
    assert field[0]["valueMax"] == "12"


def test_a_learner_of_a_later_version_with_the_first_versions_hours_is_not_eligible(
    admin_client,
    db,
):
    first = current_version()
    later = later_version()
    # 9 field hours approved on version 1
    enrolment = eligible_enrolment(cohort=CohortFactory(curriculum_version=first))
    enrolment.cohort.curriculum_version = later  # the cohort follows the 12-hour version
    db.session.flush()
    progress = progress_of([enrolment])[0]
    assert not progress.is_eligible
    assert progress.carried_over_minutes == 45 * 60  # kept, shown, not counted
    response = admin_client.post(
        f"/enrolments/{enrolment.id}/certificate", data={"language": "both"}
    )
    assert response.status_code in (200, 302, 422)
    assert (
        db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
        is None
    )


def test_a_certificate_issued_before_versions_reads_as_before(admin_client, db):
    certificate = CertificateFactory()
    assert "curriculum" not in certificate.snapshot
    page = admin_client.get(f"/verify/{certificate.code}")
    assert page.status_code == 200
    assert "หลักสูตร CA" not in page.get_data(as_text=True)


def certificate_pdf(client, certificate) -> bytes:
    response = client.get(f"/verify/{certificate.code}/certificate.pdf")
    assert response.status_code == 200
    return response.data
