"""The public pages: the Thai home page, the curriculum, health, errors."""

from lca.models import Module


def test_home_page_is_thai_and_lists_the_learning_cities(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="th">' in html
    assert "หลักสูตรนักจัดการเมืองแห่งการเรียนรู้" in html
    for city in (
        "เชียงราย",
        "เชียงใหม่",
        "ภูเก็ต",
        "ฉะเชิงเทรา",
        "สุโขทัย",
        "พะเยา",
        "หาดใหญ่",
        "กรุงเทพมหานคร",
        "ขอนแก่น",
        "ยะลา",
    ):
        assert city in html
    assert "เป็นสมาชิกเมื่อ พ.ศ. 2562" in html


def test_curriculum_lists_seven_modules_totalling_45_hours(client, db):
    html = client.get("/curriculum").get_data(as_text=True)
    modules = db.session.query(Module).order_by(Module.number).all()
    assert [m.number for m in modules] == [1, 2, 3, 4, 5, 6, 7]
    assert sum(m.hours for m in modules) == 45
    for module in modules:
        assert module.title_th in html
    assert "7 กลุ่มวิชา รวม 45 ชั่วโมง" in html
    assert "ภายใน 6 เดือน" in html  # the field window of module 5


def test_curriculum_in_english(client):
    html = client.get("/curriculum?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "7 module groups, 45 hours in all." in html
    assert "Field Practice" in html and "within 6 months" in html


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_not_found_page_in_both_languages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "ไม่พบหน้าที่ต้องการ" in response.get_data(as_text=True)
    response = client.get("/no-such-page?lang=en")
    assert "Page not found" in response.get_data(as_text=True)


def test_security_headers_on_every_page(client):
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # served over http here


def test_forbidden_page_in_both_languages(client, login, db):
    from tests.factories import LearnerFactory

    login(LearnerFactory())
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "คุณไม่มีสิทธิ์เข้าถึงหน้านี้" in response.get_data(as_text=True)
    response = client.get("/admin/?lang=en", follow_redirects=True)
    assert "You do not have access to this page" in response.get_data(as_text=True)


def test_server_error_page_in_both_languages_and_nothing_half_written(app, client, db, monkeypatch):
    from sqlalchemy import func, select

    from lca.models import City

    def broken():
        from lca.core.db import db as database

        database.session.add(City(code="half", name_th="ครึ่งทาง", name_en="Halfway"))
        database.session.flush()
        raise RuntimeError("a bug")

    monkeypatch.setitem(app.view_functions, "curriculum.index", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get("/curriculum")
    assert response.status_code == 500
    assert "เกิดข้อผิดพลาดที่ระบบของเรา" in response.get_data(as_text=True)
    assert "Something went wrong on our side" in client.get("/curriculum?lang=en").get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count()).where(City.code == "half")) == 0
