"""The outside verifiers under Node (tests/verifier: the DCC's verifier-core and jsonld.js,
pinned by its package-lock.json), run as subprocesses. Each call is one Node process; the
``*_many`` forms check several documents in that one process (Node takes most of a second to
start and load the verifier). Installed with ``npm ci --prefix tests/verifier`` (the
Makefile's test targets do it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

VERIFIER_DIR = Path(__file__).resolve().parent / "verifier"
INSTALL = "npm ci --prefix tests/verifier"
TIMEOUT = 120  # seconds for one Node process, however many documents it checks


class NodeToolsMissing(RuntimeError):
    """Node or the verifier's packages are not installed (the message says what to run)."""


class JsonLdJsError(ValueError):
    """jsonld.js refused the document; ``error`` is what it said (name, message, event)."""

    def __init__(self, error: dict) -> None:
        event = error.get("event") or {}
        super().__init__(f"{error.get('message')} {event.get('code', '')}".strip())
        self.error = error


def missing() -> str | None:
    """Why the Node tools cannot run here, or None."""
    if shutil.which("node") is None:
        return "Node.js is not installed (apt-get install nodejs npm, then " + INSTALL + ")"
    for package in ("@digitalcredentials/verifier-core", "jsonld"):
        if not (VERIFIER_DIR / "node_modules" / package / "package.json").exists():
            return f"tests/verifier has no {package}: run {INSTALL}"
    return None


def _run(script: str, documents: list, ca_file: Path | None = None) -> tuple[list[dict], int]:
    reason = missing()
    if reason:
        raise NodeToolsMissing(reason)
    environment = dict(os.environ)
    environment.pop("NODE_OPTIONS", None)
    if ca_file is not None:
        environment["NODE_EXTRA_CA_CERTS"] = str(ca_file)
    with tempfile.TemporaryDirectory(prefix="lca-node-") as folder:
        files = []
        for number, document in enumerate(documents):
            path = Path(folder) / f"document-{number}.json"
            path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
            files.append(str(path))
        finished = subprocess.run(
            ["node", str(VERIFIER_DIR / script), *files],
            capture_output=True,
            text=True,
            env=environment,
            timeout=TIMEOUT,
            check=False,
        )
    try:
        results = json.loads(finished.stdout)
    except ValueError:
        raise RuntimeError(
            f"{script} failed (exit {finished.returncode}): {finished.stderr[-2000:]}"
        ) from None
    return results, finished.returncode


def verify_many_with_dcc(credentials: list, ca_file: Path | None = None) -> list[dict]:
    """verifier-core's ``verifyCredential`` result for each credential (one Node process)."""
    results, _ = _run("verify.mjs", credentials, ca_file)
    return results


def verify_with_dcc(credential: dict, ca_file: Path | None = None) -> dict:
    """verifier-core's ``verifyCredential`` result for one credential: ``log`` (each check:
    valid_signature, expiration, revocation_status, registered_issuer), ``errors`` if it could
    not verify, ``additionalInformation`` (the schema check), and ``fetched``, the URLs it
    fetched."""
    return verify_many_with_dcc([credential], ca_file)[0]


def canonize_many_with_jsonld_js(documents: list) -> list[dict]:
    """jsonld.js ``canonize`` in safe mode for each document: {"nquads": ...} or
    {"error": {...}} (one Node process)."""
    results, _ = _run("canonize.mjs", documents)
    return results


def canonize_with_jsonld_js(document: dict) -> str:
    """The RDFC-1.0 N-Quads that jsonld.js in safe mode makes of the document, with only the
    pinned contexts; :class:`JsonLdJsError` if it refuses the document."""
    result = canonize_many_with_jsonld_js([document])[0]
    if "error" in result:
        raise JsonLdJsError(result["error"])
    return result["nquads"]


def shipped_contexts(urls: list[str]) -> dict[str, dict | None]:
    """The context verifier-core's own document loader serves for each URL, without
    fetching (None where it has none)."""
    reason = missing()
    if reason:
        raise NodeToolsMissing(reason)
    finished = subprocess.run(
        ["node", str(VERIFIER_DIR / "contexts.mjs"), *urls],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    return json.loads(finished.stdout)


def dcc_problems(result: dict) -> list[str]:
    """What verifier-core found wrong, in a few words each: its errors, and every logged
    check that is not valid (the issuer registries aside: none is consulted)."""
    problems = [f"{e.get('name')}: {e.get('message')}" for e in result.get("errors") or []]
    for step in result.get("log") or []:
        if step.get("id") != "registered_issuer" and not step.get("valid", False):
            problems.append(f"{step.get('id')}: {json.dumps(step.get('error', step))[:300]}")
    for information in result.get("additionalInformation") or []:
        for check in information.get("results") or []:
            if isinstance(check, dict) and not check.get("result", {}).get("valid", False):
                errors = json.dumps(check.get("result", {}).get("errors"))[:300]
                problems.append(f"{information.get('id')}: {check.get('schema')} {errors}")
    return problems
