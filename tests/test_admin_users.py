"""Administrators manage accounts: list, create, edit, deactivate; every bad input refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lca.auth.sessions import open_sessions, start_session
from lca.models import AuditEvent, Message, MessageKind, Role, User
from tests.factories import (
    CityFactory,
    CohortFactory,
    EnrolmentFactory,
    InstructorFactory,
    LearnerFactory,
    count_rows,
)


def new_user_data(**overrides):
    data = {
        "email": "new.person@example.org",
        "full_name_th": "นภา ใจงาม",
        "full_name_en": "Napa Jaingam",
        "role": "learner",
        "city_id": "0",
        "organisation": "เทศบาลตำบลทดสอบ",
        "preferred_language": "th",
    }
    return {**data, **overrides}


def test_list_search_and_filter_people(client, admin, db):
    LearnerFactory(full_name_th="ฟ้าใส ตามหา", email="fasai@example.org")
    InstructorFactory(full_name_th="อาจารย์ ตามหา", email="teacher@example.org")
    LearnerFactory(full_name_th="คนอื่น", is_active=False)
    page = client.get("/admin/users", query_string={"q": "ตามหา"}).get_data(as_text=True)
    assert "ฟ้าใส ตามหา" in page and "อาจารย์ ตามหา" in page and "คนอื่น" not in page
    page = client.get("/admin/users", query_string={"q": "ตามหา", "role": "instructor"})
    assert "ฟ้าใส" not in page.get_data(as_text=True)
    page = client.get("/admin/users", query_string={"status": "inactive"}).get_data(as_text=True)
    assert "คนอื่น" in page and "ฟ้าใส" not in page
    # Wildcards typed by the admin are searched for literally.
    assert "พบ 0 คน" in client.get("/admin/users?q=%25").get_data(as_text=True)


def test_people_list_is_paginated(app, client, admin, db):
    for _ in range(app.config["LCA_PAGE_SIZE"] + 5):
        LearnerFactory()
    first = client.get("/admin/users").get_data(as_text=True)
    assert "หน้า 1 จาก 2" in first
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert "หน้า 2 จาก 2" in second
    assert client.get("/admin/users?page=999").status_code == 200


def test_create_account_sends_an_invitation_and_shows_no_password(client, admin, db):
    city = CityFactory()
    response = client.post("/admin/users/new", data=new_user_data(city_id=str(city.id)))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "ส่งคำเชิญไปที่ new.person@example.org แล้ว" in page
    assert "one-time-password" not in page
    user = db.session.scalar(select(User).where(User.email == "new.person@example.org"))
    assert user.role is Role.LEARNER and user.city_id == city.id
    assert user.setup_token_hash and not user.must_change_password
    invitation = db.session.scalar(select(Message).where(Message.recipient_id == user.id))
    assert invitation.kind is MessageKind.INVITATION
    assert invitation.link_endpoint == "auth.set_password"
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert audit.actor_id == admin.id and audit.target_id == user.id
    # The link in the invitation lets the person choose their own password.
    other = client.application.test_client()
    token = invitation.params["token"]
    assert other.get(f"/set-password/{token}").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "TAKEN@Example.Org"}, "email", "อีเมลนี้มีผู้ใช้แล้ว"),
        ({"email": "not-an-email"}, "email", "อีเมลนี้ไม่ถูกต้อง"),
        ({"email": "a@b"}, "email", "อีเมลนี้ไม่ถูกต้อง"),
        ({"email": ""}, "email", "กรอกอีเมล"),
        ({"full_name_th": ""}, "full_name_th", "กรอกชื่อ-นามสกุลภาษาไทย"),
        ({"full_name_th": "   \u200b "}, "full_name_th", "กรอกชื่อ-นามสกุลภาษาไทย"),
        ({"full_name_th": "ก" * 201}, "full_name_th", "ใช้ไม่เกิน 200 ตัวอักษร"),
        ({"role": "superuser"}, "role", "ตัวเลือกไม่ถูกต้อง"),
        ({"city_id": "999999"}, "city_id", "ตัวเลือกไม่ถูกต้อง"),
        ({"city_id": "abc"}, "city_id", "ตัวเลือกไม่ถูกต้อง"),
        ({"preferred_language": "fr"}, "preferred_language", "ตัวเลือกไม่ถูกต้อง"),
    ],
)
def test_bad_account_details_are_refused_next_to_the_field(
    client, admin, db, overrides, field, message, field_error
):
    LearnerFactory(email="taken@example.org")
    users_before, audit_before = count_rows(User), count_rows(AuditEvent)
    page = client.post("/admin/users/new", data=new_user_data(**overrides)).get_data(as_text=True)
    assert message in field_error(page, field)
    assert count_rows(User) == users_before
    assert count_rows(AuditEvent) == audit_before


def test_edit_account(client, admin, db):
    user = LearnerFactory(email="old@example.org")
    response = client.post(
        f"/admin/users/{user.id}/edit",
        data=new_user_data(email="New@Example.org", full_name_th="ชื่อใหม่", role="learner"),
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.email == "new@example.org" and user.full_name_th == "ชื่อใหม่"
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
    assert audit.details["changes"]["email"] == ["old@example.org", "new@example.org"]


def test_edit_refuses_another_accounts_email_in_another_case(client, admin, db, field_error):
    LearnerFactory(email="someone@example.org")
    user = LearnerFactory(email="me@example.org")
    page = client.post(
        f"/admin/users/{user.id}/edit", data=new_user_data(email="SomeOne@example.org")
    ).get_data(as_text=True)
    assert "อีเมลนี้มีผู้ใช้แล้ว" in field_error(page, "email")
    db.session.refresh(user)
    assert user.email == "me@example.org"


def test_role_change_refused_while_enrolled_or_teaching(client, admin, db, field_error):
    enrolment = EnrolmentFactory()
    instructor = InstructorFactory()
    CohortFactory(instructors=[instructor])
    learner = enrolment.learner
    page = client.post(
        f"/admin/users/{learner.id}/edit",
        data=new_user_data(email=learner.email, role="instructor"),
    ).get_data(as_text=True)
    assert "โปรดถอนชื่อออกจากรุ่นก่อน" in field_error(page, "role")
    page = client.post(
        f"/admin/users/{instructor.id}/edit",
        data=new_user_data(email=instructor.email, role="learner"),
    ).get_data(as_text=True)
    assert "โปรดนำออกจากรุ่นก่อน" in field_error(page, "role")
    db.session.refresh(learner)
    db.session.refresh(instructor)
    assert learner.role is Role.LEARNER and instructor.role is Role.INSTRUCTOR


def test_an_admin_cannot_demote_or_deactivate_themselves(client, admin, db, field_error, flashes):
    page = client.post(
        f"/admin/users/{admin.id}/edit", data=new_user_data(email=admin.email, role="learner")
    ).get_data(as_text=True)
    assert "คุณเปลี่ยนบทบาทของตนเองไม่ได้" in field_error(page, "role")
    page = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "คุณปิดใช้งานบัญชีของตนเองไม่ได้" in flashes(page.get_data(as_text=True))
    db.session.refresh(admin)
    assert admin.is_active and admin.role is Role.ADMIN


def test_deactivate_and_activate(client, admin, db, flashes):
    user = LearnerFactory()
    start_session(user)  # signed in on some device
    client.post(f"/admin/users/{user.id}/deactivate")
    db.session.refresh(user)
    assert not user.is_active and user.deactivated_at and open_sessions(user) == []
    page = client.post(f"/admin/users/{user.id}/deactivate", follow_redirects=True)
    assert "บัญชีนี้ถูกปิดใช้งานอยู่แล้ว" in flashes(page.get_data(as_text=True))
    client.post(f"/admin/users/{user.id}/activate")
    db.session.refresh(user)
    assert user.is_active and user.deactivated_at is None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == user.id))
    assert {"user.deactivate", "user.activate"} <= set(actions)


def test_unknown_user_id_is_not_found(client, admin, db):
    assert client.get("/admin/users/999999/edit").status_code == 404
    assert client.post("/admin/users/999999/deactivate").status_code == 404
