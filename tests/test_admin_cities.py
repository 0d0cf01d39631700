"""Administrators keep the list of cities."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lca.models import AuditEvent, City
from tests.factories import CityFactory, count_rows


def test_city_list_shows_the_seeded_learning_cities(admin_client, db):
    page = admin_client.get("/admin/cities").get_data(as_text=True)
    assert "เชียงราย / Chiang Rai" in page and "พ.ศ. 2562" in page


def test_add_a_city_makes_a_stable_code(admin_client, db):
    response = admin_client.post("/admin/cities/new", data={"name_th": "น่าน", "name_en": "Nan"})
    assert response.status_code == 302
    city = db.session.scalar(select(City).where(City.name_th == "น่าน"))
    assert city.code == "nan" and city.gnlc_joined_year is None
    admin_client.post("/admin/cities/new", data={"name_th": "น่านใหม่", "name_en": "Nan!"})
    assert db.session.scalar(select(City.code).where(City.name_th == "น่านใหม่")) == "nan-2"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "city.create"))


def test_edit_a_city(admin_client, db):
    city = CityFactory()
    response = admin_client.post(
        f"/admin/cities/{city.id}/edit",
        data={"name_th": "เมืองใหม่", "name_en": "New Town", "gnlc_joined_year": "2568"},
    )
    assert response.status_code == 302
    db.session.refresh(city)
    assert (city.name_th, city.gnlc_joined_year) == ("เมืองใหม่", 2568)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name_th": "พะเยา", "name_en": "Phayao Two"}, "name_th", "มีเมืองอื่นใช้ชื่อนี้แล้ว"),
        ({"name_th": "พะเยาสอง", "name_en": "PHAYAO"}, "name_en", "มีเมืองอื่นใช้ชื่อนี้แล้ว"),
        ({"name_th": "", "name_en": "Somewhere"}, "name_th", "กรอกชื่อภาษาไทย"),
        ({"name_th": "ที่ไหน", "name_en": ""}, "name_en", "กรอกชื่อภาษาอังกฤษ"),
        (
            {"name_th": "ที่ไหน", "name_en": "X", "gnlc_joined_year": "2019"},
            "gnlc_joined_year",
            "ระบุปี พ.ศ. เช่น 2567",
        ),
        (
            {"name_th": "ที่ไหน", "name_en": "X", "gnlc_joined_year": "2690"},
            "gnlc_joined_year",
            "ระบุปี พ.ศ. ตั้งแต่ 2556",
        ),
        (
            {"name_th": "ที่ไหน", "name_en": "X", "gnlc_joined_year": "สองพัน"},
            "gnlc_joined_year",
            "ต้องเป็นจำนวนเต็ม",
        ),
    ],
)
def test_bad_city_details_are_refused(admin_client, db, data, field, message, field_error):
    before = count_rows(City)
    page = admin_client.post("/admin/cities/new", data=data).get_data(as_text=True)
    assert message in field_error(page, field)
    assert count_rows(City) == before


def test_unknown_city_id_is_not_found(admin_client, db):
    assert admin_client.get("/admin/cities/999999/edit").status_code == 404
