"""tools/audit_lock.py: where the registry has no release JSON, the project's JSON stands in
only for the latest release; an older pin is reported as not audited, never as clean."""

from __future__ import annotations

from tools.audit_lock import ReleaseOrLatest


class Answer:
    def __init__(self, status: int, body: dict | None = None) -> None:
        self.status_code, self.ok, self.body = status, status == 200, body or {}

    def json(self) -> dict:
        return self.body


class Registry:
    """Answers like the registry here: project JSON for every project, no release JSON."""

    def __init__(self, latest: dict[str, str], releases: set[str] = frozenset()) -> None:
        self.latest, self.releases, self.asked = latest, releases, []

    def get(self, url: str, timeout=None):
        self.asked.append(url)
        parts = url.removeprefix("https://pypi.org/pypi/").split("/")
        if len(parts) == 3:  # name/version/json
            if f"{parts[0]}=={parts[1]}" in self.releases:
                return Answer(200, {"vulnerabilities": [], "release": parts[1]})
            return Answer(404)
        version = self.latest.get(parts[0])
        if version is None:
            return Answer(404)
        return Answer(200, {"info": {"version": version}, "vulnerabilities": [{"id": "X"}]})


def test_a_release_json_is_used_when_the_registry_has_it():
    registry = Registry({"flask": "3.1.3"}, releases={"flask==3.1.2"})
    answer = ReleaseOrLatest(registry).get("https://pypi.org/pypi/flask/3.1.2/json")
    assert answer.body["release"] == "3.1.2"
    assert registry.asked == ["https://pypi.org/pypi/flask/3.1.2/json"]


def test_the_project_json_stands_in_for_the_latest_release_only():
    registry = Registry({"flask": "3.1.3"})
    latest = ReleaseOrLatest(registry).get("https://pypi.org/pypi/flask/3.1.3/json")
    assert latest.ok and latest.body["vulnerabilities"] == [{"id": "X"}]
    older = ReleaseOrLatest(registry).get("https://pypi.org/pypi/flask/3.1.2/json")
    assert older.status_code == 404  # pip-audit then lists it as not audited


def test_an_unknown_project_stays_not_found():
    answer = ReleaseOrLatest(Registry({})).get("https://pypi.org/pypi/nothing/1.0/json")
    assert answer.status_code == 404
