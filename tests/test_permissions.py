"""The permission matrix (tests/conftest.py): every route of the app × every kind of visitor.

A route missing from the matrix fails the suite, so every new route needs a decision there.
"""

from __future__ import annotations

import pytest

from lca.models import Role
from lca.web.permissions import get_cohort_or_403, get_enrolment_or_403, teaches


def app_routes(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_a_row_in_the_matrix(app, permission_matrix):
    routes, rows = app_routes(app), set(permission_matrix.rows)
    assert routes - rows == set(), "routes without a permission decision"
    assert rows - routes == set(), "matrix rows for routes that no longer exist"


def test_every_view_declares_who_may_use_it(app):
    undeclared = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not hasattr(view, "lca_access")
    ]
    assert undeclared == []


def outcome(response, matrix) -> str:
    assert response.status_code != 500
    if response.status_code == 403:
        return matrix.FORBIDDEN
    if response.status_code == 302 and "/login" in response.headers["Location"]:
        return matrix.LOGIN
    if response.status_code == 404:
        return matrix.NOT_THERE
    assert response.status_code < 400, response.status_code
    return matrix.OK


def test_permission_matrix(
    app, client, login, world, url_arguments, permission_matrix, matrix_route, matrix_actor
):
    """Every row (``matrix_route``) for every kind of visitor (``matrix_actor``)."""
    route, actor = matrix_route, matrix_actor
    endpoint, method = route
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    arguments = {name: url_arguments[name] for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        url = url_for(endpoint, **arguments)
    if world[actor] is not None:
        login(world[actor])
    response = client.open(url, method=method, data={})
    assert outcome(response, permission_matrix) == permission_matrix.rows[route][actor]


def test_object_getters_refuse_another_persons_objects(app, db, world):
    """The getters themselves, independent of any view: 403 for someone else's, 404 for none."""
    from werkzeug.exceptions import Forbidden, NotFound

    cohort, enrolment = world["cohort"], world["enrolment"]
    with app.test_request_context():
        assert get_cohort_or_403(cohort.id, world["instructor"]) is cohort
        assert get_cohort_or_403(cohort.id, world["admin"], action="manage") is cohort
        assert get_enrolment_or_403(enrolment.id, world["learner"]) is enrolment
        for user, getter, object_id, action in (
            (world["other_instructor"], get_cohort_or_403, cohort.id, "view"),
            (world["instructor"], get_cohort_or_403, cohort.id, "manage"),
            (world["learner"], get_cohort_or_403, cohort.id, "view"),
            (world["other_learner"], get_enrolment_or_403, enrolment.id, "view"),
            (world["learner"], get_enrolment_or_403, enrolment.id, "manage"),
            (world["other_instructor"], get_enrolment_or_403, enrolment.id, "view"),
        ):
            with pytest.raises(Forbidden):
                getter(object_id, user, action=action)
        with pytest.raises(NotFound):
            get_cohort_or_403(999_999, world["admin"])
    assert teaches(world["instructor"], cohort)
    assert not teaches(world["other_instructor"], cohort)
    assert world["admin"].role is Role.ADMIN and not teaches(world["admin"], cohort)
