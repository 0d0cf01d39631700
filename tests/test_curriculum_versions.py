"""Each cohort follows its curriculum version: the public curriculum page shows the current one
and earlier ones on request; the log and session forms offer the cohort's modules and catalogue
only (another version's module, mechanism or tool is refused, never saved); a new cohort gets
the current version unless the administrator picks another."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lca.curriculum.services import current_version, field_catalogues_of, modules_of
from lca.models import Cohort, HourLog
from tests.factories import (
    CityFactory,
    CohortFactory,
    EnrolmentFactory,
    classroom_form,
    field_form,
    later_version,
    mechanism,
    module_of,
)


def _options(page: str, name: str) -> dict[str, str]:
    """{value: label} of the <select name=...> of a page."""
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select_html, f"no select {name}"
    return {
        value: re.sub(r"\s+", " ", label).strip()
        for value, label in re.findall(
            r'<option[^>]*value="([^"]*)"[^>]*>(.*?)</option>', select_html.group(1), re.S
        )
    }


def test_the_curriculum_page_names_its_version(client, db):
    page = client.get("/curriculum").get_data(as_text=True)
    assert "CA 45 ชั่วโมง, 2567" in page
    assert "Versions of the curriculum" not in client.get("/curriculum?lang=en").get_data(
        as_text=True
    )  # one version: no list of versions


def test_the_current_version_is_shown_and_earlier_ones_on_request(client, db):
    later_version(drop_modules=(7,))
    current = client.get("/curriculum").get_data(as_text=True)
    assert "CA 48 ชั่วโมง, 2570" in current
    assert 'id="module-7"' not in current  # the new version has no module 7
    assert "/curriculum?version=1" in current  # the earlier one, linked
    earlier = client.get("/curriculum?version=1").get_data(as_text=True)
    assert 'id="module-7"' in earlier
    assert "CA 45 ชั่วโมง, 2567" in earlier
    assert 'role="note"' in earlier  # says it is an earlier version, and links the current
    english = client.get("/curriculum?version=1&lang=en", follow_redirects=True)
    assert "This is an earlier version of the curriculum" in english.get_data(as_text=True)


@pytest.mark.parametrize("asked", ["99", "0", "-1", "99999999999999999999"])
def test_a_version_that_does_not_exist_is_a_404(client, db, asked):
    assert client.get(f"/curriculum?version={asked}").status_code == 404


@pytest.mark.parametrize("asked", ["abc", "", "1.5", "%00"])
def test_a_version_that_is_not_a_number_shows_the_current_one(client, db, asked):
    response = client.get(f"/curriculum?version={asked}")
    assert response.status_code == 200
    assert "CA 45 ชั่วโมง, 2567" in response.get_data(as_text=True)


def test_the_log_form_offers_the_modules_of_the_learners_cohort(
    learner_client, learner_enrolment, db
):
    first = current_version()
    later_version()
    offered = _options(learner_client.get("/hours/new").get_data(as_text=True), "module_id")
    assert set(offered) == {str(m.id) for m in modules_of(first.id)}
    assert "CA 48" not in " ".join(offered.values())  # one version: no version in the labels


def test_a_module_of_another_version_is_refused(learner_client, learner_enrolment, db, field_error):
    later = later_version()
    other = module_of(later, 1)
    before = db.session.scalar(select(func.count(HourLog.id)))
    page = learner_client.post(
        "/hours/new", data=classroom_form(learner_enrolment, module_id=str(other.id))
    )
    assert page.status_code == 200
    assert field_error(page.get_data(as_text=True), "module_id")
    assert db.session.scalar(select(func.count(HourLog.id))) == before


def test_a_learner_in_cohorts_of_two_versions_sees_both_and_is_held_to_each(
    learner_client, learner_enrolment, db, field_error
):
    first = current_version()
    later = later_version()
    second = EnrolmentFactory(learner=learner_enrolment.learner, cohort=CohortFactory())
    assert second.cohort.curriculum_version_id == later.id
    offered = _options(learner_client.get("/hours/new").get_data(as_text=True), "module_id")
    assert len(offered) == 14
    assert offered[str(module_of(later, 5).id)].endswith("(CA 48 ชั่วโมง, 2570)")
    assert offered[str(module_of(first, 5).id)].endswith("(CA 45 ชั่วโมง, 2567)")
    # module 1 of version 2 for the cohort on version 1: refused, with the reason
    page = learner_client.post(
        "/hours/new",
        data=classroom_form(learner_enrolment, module_id=str(module_of(later, 1).id)),
    ).get_data(as_text=True)
    assert field_error(page, "module_id") == "กลุ่มวิชานี้ไม่อยู่ในหลักสูตรของรุ่นของคุณ"
    assert db.session.scalar(select(func.count(HourLog.id))) == 0
    # and the right module for each cohort is saved
    for enrolment, version in ((learner_enrolment, first), (second, later)):
        response = learner_client.post(
            "/hours/new",
            data=classroom_form(enrolment, module_id=str(module_of(version, 1).id)),
        )
        assert response.status_code == 302
    assert db.session.scalar(select(func.count(HourLog.id))) == 2


def test_a_mechanism_outside_the_cohorts_catalogue_is_refused(
    learner_client, learner_enrolment, db, field_error
):
    first = current_version()
    later = later_version(drop_mechanisms=("process",))
    assert "process" not in {m.code for m in field_catalogues_of(later.id)[0]}
    EnrolmentFactory(learner=learner_enrolment.learner, cohort=CohortFactory())
    on_later = EnrolmentFactory(
        learner=learner_enrolment.learner, cohort=CohortFactory(curriculum_version=later)
    )
    response = learner_client.post(
        "/hours/new",
        **field_form(
            on_later,
            module_id=str(module_of(later, 5).id),
            mechanism_id=str(mechanism("process").id),
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_error(page, "mechanism_id") == "เลือกกลไกและเครื่องมือจากหลักสูตรของรุ่นของคุณ"
    assert db.session.scalar(select(func.count(HourLog.id))) == 0
    assert first.id != later.id


def test_the_session_form_offers_the_cohorts_modules(client, login, admin, db):
    first = current_version()
    later_version(drop_modules=(7,))
    on_first = CohortFactory(curriculum_version=first)
    page = client.get(f"/cohorts/{on_first.id}/sessions/new").get_data(as_text=True)
    offered = _options(page, "module_id")
    assert set(offered) == {str(m.id) for m in modules_of(first.id) if not m.is_field}
    on_later = CohortFactory()
    page = client.get(f"/cohorts/{on_later.id}/sessions/new").get_data(as_text=True)
    assert len(_options(page, "module_id")) == 5  # module 7 is gone, field practice is no session


def _new_cohort(db, **overrides) -> dict:
    data = {
        "code": "CA-2570-01",
        "host_city_id": str(CityFactory().id),
        "starts_on": "2027-06-01",
        "ends_on": "2028-02-28",
        "field_starts_on": "",
        "field_window_months": "6",
    }
    data.update(overrides)
    return data


def test_a_new_cohort_gets_the_current_version_or_the_one_picked(client, admin, db):
    first = current_version()
    later = later_version()
    page = client.get("/cohorts/new").get_data(as_text=True)
    offered = _options(page, "curriculum_version_id")
    assert list(offered) == [str(later.id), str(first.id)]  # newest first, and chosen
    assert re.search(
        rf'<option[^>]*selected[^>]*value="{later.id}"|<option[^>]*value="{later.id}"[^>]*selected',
        page,
    )
    client.post("/cohorts/new", data=_new_cohort(db, curriculum_version_id=str(later.id)))
    client.post(
        "/cohorts/new",
        data=_new_cohort(db, code="CA-2570-02", curriculum_version_id=str(first.id)),
    )
    made = {c.code: c.curriculum_version_id for c in db.session.scalars(select(Cohort))}
    assert made["CA-2570-01"] == later.id
    assert made["CA-2570-02"] == first.id


@pytest.mark.parametrize("hostile", ["999999", "-1", "abc", "", "1 OR 1=1"])
def test_a_hostile_curriculum_on_the_new_cohort_form_is_no_500(client, admin, db, hostile):
    response = client.post("/cohorts/new", data=_new_cohort(db, curriculum_version_id=hostile))
    assert response.status_code in (200, 404, 422)
    assert db.session.scalar(select(Cohort).where(Cohort.code == "CA-2570-01")) is None
