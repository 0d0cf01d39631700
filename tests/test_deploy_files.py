"""The files an operator copies (deploy/): the systemd units pass `systemd-analyze verify`,
the nginx site renders and passes `nginx -t`, and the environment example names every setting a
multi-server deployment needs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.cluster import NGINX, Nginx, render_site

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(tool: str) -> None:
    if not Path(tool).exists() and not shutil.which(tool):
        if IN_CI:
            pytest.fail(f"{tool} not found (CI=true: the test must not skip it)", pytrace=False)
        pytest.skip(f"{tool} not found")


@pytest.mark.parametrize("unit", ["lca-web@.service", "lca-worker.service"])
def test_systemd_unit_verifies(unit, tmp_path):
    """Copied with /srv/lca made this checkout (verify needs ExecStart's binary to exist)."""
    need("systemd-analyze")
    text = (DEPLOY / "systemd" / unit).read_text()
    venv = Path(sys.executable).parent.parent
    text = text.replace("/srv/lca/.venv", str(venv)).replace("/srv/lca", str(ROOT))
    text = re.sub(r"^(User|Group)=.*$", r"\1=root", text, flags=re.M)
    copy = tmp_path / unit
    copy.write_text(text)
    target = copy if "@" not in unit else tmp_path / unit.replace("@", "@8000")
    if target != copy:
        target.symlink_to(copy)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if str(tmp_path) in line or unit in line
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_nginx_site_passes_nginx_t():
    need(NGINX)
    nginx = Nginx(["127.0.0.1:8000", "127.0.0.1:8001"])
    try:
        result = nginx.test_config()
        assert result.returncode == 0, result.stderr
        site = nginx.site.read_text()
    finally:
        nginx.close()
    assert "server 127.0.0.1:8000" in site and "server 127.0.0.1:8001" in site
    assert "@" not in re.sub(r"#.*", "", site)


def test_nginx_site_never_resends_a_post():
    """nginx resends a request that reached a server only when told to (non_idempotent)."""
    site = render_site(["127.0.0.1:8000", "127.0.0.1:8001"], "8080")
    directives = re.sub(r"#.*", "", site)
    assert "proxy_next_upstream error timeout http_502;" in directives
    assert "non_idempotent" not in directives
    assert "client_max_body_size 60m;" in directives  # MAX_CONTENT_LENGTH
    assert "proxy_read_timeout 60s;" in directives  # gunicorn's timeout
    assert "proxy_set_header X-Request-ID $request_id;" in directives


def test_env_example_names_the_multi_server_settings():
    text = (DEPLOY / "lca.env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.M))
    for setting in (
        "LCA_ENV",
        "LCA_SECRET_KEY",
        "LCA_PUBLIC_URL",
        "LCA_DATABASE_URL",
        "LCA_PROXY_COUNT",
        "LCA_DATA_DIR",
        "LCA_STORAGE_URL",
        "LCA_S3_ENDPOINT_URL",
        "LCA_S3_REGION",
        "LCA_RATELIMIT_STORAGE_URL",
        "LCA_METRICS_TOKEN",
        "LCA_WORKERS",
        "LCA_MAIL_URL",
    ):
        assert setting in named, setting
    assert not re.search(r"^LCA_SECRET_KEY=[0-9a-f]{32,}$", text, flags=re.M)  # no real secret
