"""The look of every page: the Sarabun web font served from the installed font package, the
favicon, and the question asked before a destructive action (the data-confirm contract)."""

from __future__ import annotations

import fontpkg
import pytest

from tests.factories import LearnerFactory


@pytest.mark.parametrize(("name", "weight"), [("sarabun-400.ttf", 400), ("sarabun-700.ttf", 700)])
def test_the_web_font_is_the_installed_sarabun(client, name, weight):
    response = client.get(f"/static/fonts/{name}")
    assert response.status_code == 200
    assert response.mimetype == "font/ttf"
    assert response.cache_control.max_age >= 30 * 24 * 60 * 60
    assert response.cache_control.public
    with open(fontpkg.path("Sarabun", weight), "rb") as file:
        assert response.data == file.read()
    response.close()


def test_a_signed_in_person_gets_the_font_cached_too(client, admin):
    response = client.get("/static/fonts/sarabun-600.ttf")
    assert response.status_code == 200
    assert "no-store" not in response.headers["Cache-Control"]
    response.close()


@pytest.mark.parametrize(
    "name",
    [
        "sarabun-500.ttf",
        "Sarabun-Regular.ttf",
        "sarabun-400.woff2",
        "..%2F..%2Fpyproject.toml",
        "%00",
        "ก" * 300,
    ],
)
def test_only_the_known_weights_are_served(client, name):
    assert client.get(f"/static/fonts/{name}").status_code == 404


def test_a_person_who_must_change_their_password_still_gets_the_font(client, login):
    learner = LearnerFactory(must_change_password=True)
    login(learner)
    assert client.get("/static/fonts/sarabun-400.ttf").status_code == 200
    assert client.get("/favicon.ico").headers["Location"].endswith("/static/favicon.svg")


def test_the_favicon_answers_at_its_usual_address(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/static/favicon.svg")
    icon = client.get(response.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data
    icon.close()


def test_every_page_links_the_icon_the_font_and_the_confirmation_script(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert '<script src="/static/js/confirm.js" defer></script>' in page
    assert '<template id="confirm-dialog">' in page
    css = client.get("/static/css/app.css")
    text = css.get_data(as_text=True)
    css.close()
    assert text.count("font-display: swap") >= 3
    assert 'url("../fonts/sarabun-400.ttf")' in text


def test_deactivating_an_account_says_what_will_happen(client, admin):
    learner = LearnerFactory(full_name_en="Kanya Rakthai")
    client.get("/?lang=en")
    page = client.get(f"/admin/users/{learner.id}/edit").get_data(as_text=True)
    assert (
        'class="button button-danger" data-confirm="The account of Kanya Rakthai will be '
        "deactivated: they can no longer sign in, and their open sessions end."
    ) in page
