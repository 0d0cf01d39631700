"""The developer's mailbox (/dev/mail): every message the worker wrote into the file:// folder,
readable in the browser, only in development."""

from __future__ import annotations

from lca.core.db import db
from lca.notifications.channels import mail_channel
from lca.notifications.delivery import deliver_due
from tests.factories import LearnerFactory
from tests.test_mail_delivery import queue


def test_a_newcomer_reads_every_message_in_development(make_app, new_database, tmp_path):
    folder = tmp_path / "mail"
    app = make_app(
        new_database("lca_dev_mail"),
        tmp_path / "data",
        LCA_ENV="development",
        LCA_MAIL_URL=f"file://{folder}",
    )
    with app.app_context():
        queue(LearnerFactory(email="newcomer@example.org", full_name_th="สมใจ มาใหม่"))
        db.session.commit()
        assert (
            deliver_due(mail_channel(app.config["LCA_MAIL_URL"], "LCA <lca@localhost>", tmp_path))
            == 1
        )
        db.session.remove()
    [eml] = folder.glob("*.eml")
    client = app.test_client()

    listing = client.get("/dev/mail").get_data(as_text=True)
    assert "พร้อมคำถาม" in listing  # the subject, decoded
    assert "newcomer@example.org" in listing and f"/dev/mail/{eml.name}" in listing

    page = client.get(f"/dev/mail/{eml.name}").get_data(as_text=True)
    assert "ภาพถ่ายอยู่ที่ไหนครับ" in page  # the plain-text part
    assert '<a href="http://127.0.0.1:5000/hours/1">http://127.0.0.1:5000/hours/1</a>' in page
    for name in ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "00000099-invitation.eml", "x.eml"):
        assert client.get(f"/dev/mail/{name}").status_code == 404
    with app.app_context():
        db.engine.dispose()


def test_no_mailbox_page_outside_development(app, client):
    assert not any(rule.rule.startswith("/dev") for rule in app.url_map.iter_rules())
    assert client.get("/dev/mail").status_code == 404


def test_no_mailbox_page_in_production(monkeypatch, tmp_path):
    from lca import create_app

    monkeypatch.setenv("LCA_SECRET_KEY", "a-production-secret-for-this-test-only-0123456789")
    production = create_app(
        {
            "LCA_ENV": "production",
            "LCA_PUBLIC_URL": "https://lca.example.org",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}",
            "LCA_DATA_DIR": tmp_path / "data",
            "LCA_MAIL_URL": f"file://{tmp_path / 'mail'}",
        }
    )
    assert not any(rule.rule.startswith("/dev") for rule in production.url_map.iter_rules())
    assert production.test_client().get("/dev/mail").status_code == 404
    with production.app_context():
        db.engine.dispose()
