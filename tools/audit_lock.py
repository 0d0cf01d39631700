"""pip-audit over the runtime lock (what a deployment installs), with the registry's advisories.

    .venv/bin/python tools/audit_lock.py [requirements.lock]

pip-audit's PyPI service asks the registry for each pinned release's JSON
(``/pypi/<name>/<version>/json``), whose ``vulnerabilities`` are the advisories that affect that
release. The registry this machine is configured with answers only the project's JSON
(``/pypi/<name>/json``), whose ``vulnerabilities`` are those of the latest release. So a release
that is not found is asked again as the project: when the pinned release *is* the latest, those
are its advisories; otherwise the pin is reported as not audited (``make lock`` with
``--upgrade-package`` moves it), never as clean.

Exit status: 1 if any pinned release has a known vulnerability or the registry cannot be
reached, 0 otherwise. Not-audited pins are listed (docs/security.md names them).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from pip_audit._audit import Auditor
from pip_audit._dependency_source import RequirementSource
from pip_audit._service import PyPIService
from pip_audit._service.interface import ServiceError

RELEASE_JSON = re.compile(r"https://pypi\.org/pypi/(?P<name>[^/]+)/(?P<version>[^/]+)/json")


class ReleaseOrLatest:
    """A requests session for pip-audit's PyPI service: a release's JSON, or, where the
    registry has none, the project's JSON when the pinned release is its latest."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def get(self, url: str, timeout: int | None = None, **kwargs: Any) -> Any:
        response = self.session.get(url=url, timeout=timeout, **kwargs)
        found = RELEASE_JSON.fullmatch(url)
        if response.status_code != 404 or not found:
            return response
        project = self.session.get(
            url=f"https://pypi.org/pypi/{found['name']}/json", timeout=timeout, **kwargs
        )
        if project.ok and project.json()["info"]["version"] == found["version"]:
            return project
        return response  # pip-audit reports it as not audited


def main(lock: Path) -> int:
    service = PyPIService(timeout=60)
    service.session = ReleaseOrLatest(service.session)
    source = RequirementSource([lock], require_hashes=True, no_deps=True, disable_pip=True)
    vulnerable, skipped, clean = [], [], 0
    try:
        for dependency, results in Auditor(service).audit(source):
            if dependency.is_skipped():
                skipped.append(dependency.name)
            elif results:
                vulnerable.append((dependency, results))
            else:
                clean += 1
    except ServiceError as error:
        print(f"the registry's advisories could not be read: {error}", file=sys.stderr)
        return 1
    for dependency, results in vulnerable:
        version = getattr(dependency, "version", "?")
        for result in {result.id: result for result in results}.values():
            fixed = ", ".join(str(v) for v in result.fix_versions) or "no fixed release"
            print(f"VULNERABLE {dependency.name} {version}: {result.id} (fixed in {fixed})")
            print(f"    {result.description[:300]}")
    print(
        f"pip-audit {lock}: {clean} pinned releases without known vulnerabilities, "
        f"{len(vulnerable)} vulnerable, {len(skipped)} not audited"
        + (f" (not the registry's latest: {', '.join(sorted(skipped))})" if skipped else "")
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock")))
