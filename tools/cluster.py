"""Several LCA app servers on this machine, as a multi-server deployment runs them: the cluster
test (tests/cluster) builds one from these pieces.

- ``RedisServer``: redis-server on a free loopback port, nothing persisted, in a temporary
  directory; ``stop()`` and ``start()`` again on the same port (Redis going away and coming back);
- ``MotoS3``: moto's S3 server as a subprocess on a free port, with a bucket created;
- ``Nginx``: Debian's nginx in the foreground (``-p <temp dir> -c <conf> -e <error log>``) with
  deploy/nginx/lca.conf rendered into a main configuration whose temp paths, pid and logs are
  all under the temp dir (as root its workers run as root: the temp dir is root's alone);
- ``AppServer``: one LCA gunicorn server that can be SIGKILLed (its process group) or HUPped and
  started again on the same port with the same access log;
- ``Cluster``: a throwaway PostgreSQL (migrated, seeded, the demo loaded, keys made), Redis,
  moto, two app servers sharing LCA_DATA_DIR and LCA_SECRET_KEY, the mail worker, and nginx
  round-robin in front; ``close()`` tears everything down, whatever failed;
- the simulated learners' ``Browser`` is tools/browser.py's.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.instances import (
    ROOT,
    Gunicorn,
    ThrowawayPostgres,
    free_port,
    instance_env,
    python,
    worker_pids,
)

REDIS_SERVER = os.environ.get("LCA_REDIS_SERVER", "/usr/bin/redis-server")
NGINX = os.environ.get("LCA_NGINX", "/usr/sbin/nginx")
NGINX_SITE = ROOT / "deploy" / "nginx" / "lca.conf"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
S3_KEY_ID, S3_SECRET = "cluster-test", "cluster-test-secret"  # moto accepts any pair


def wait_for(check, what: str, timeout: float = 60, process: subprocess.Popen | None = None):
    """Call ``check`` until it returns something true; its result."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not within {timeout:.0f} s")


def stop_process(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    """Stop a process we started in a session of its own, and its group if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group we started, by its id
        process.wait()


# --- Redis ---------------------------------------------------------------------------------------


class RedisServer:
    """redis-server on 127.0.0.1:port, nothing saved; stop() and start() keep the port."""

    def __init__(self, binary: str = REDIS_SERVER) -> None:
        if not Path(binary).exists():
            raise FileNotFoundError(f"{binary} not found (Debian package redis-server)")
        self.binary, self.port = binary, free_port()
        self.root = Path(tempfile.mkdtemp(prefix="lca-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")

    def start(self) -> RedisServer:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.root),
            "--daemonize", "no",
            "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - the installed server, arguments built here
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for(self.ping, "redis-server answering PING", 20, self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# --- S3 (moto) -----------------------------------------------------------------------------------


class MotoS3:
    """moto's S3 server on 127.0.0.1:port (a subprocess), with ``bucket`` created."""

    def __init__(self, bucket: str = "lca-cluster") -> None:
        self.port, self.bucket = free_port(), bucket
        self.root = Path(tempfile.mkdtemp(prefix="lca-moto-"))
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=S3_KEY_ID,
            aws_secret_access_key=S3_SECRET,
        )

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/")
            return connection.getresponse().status < 500
        finally:
            connection.close()

    def start(self) -> MotoS3:
        command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1"]
        command += ["-p", str(self.port)]
        with (self.root / "moto.log").open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - moto's own command
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self._answers, "moto's S3 server", 60, self.process)
        self.client().create_bucket(Bucket=self.bucket)
        return self

    def keys(self, prefix: str = "") -> list[str]:
        found = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for item in found.get("Contents", [])]

    def close(self) -> None:
        try:
            stop_process(self.process)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# --- nginx ---------------------------------------------------------------------------------------


def render_site(
    upstreams: list[str], listen: str, server_name: str = "localhost", down: frozenset = frozenset()
) -> str:
    """deploy/nginx/lca.conf with its placeholders filled in (what an operator replaces); the
    servers in ``down`` marked so (drained: nginx sends them no new request)."""
    text = NGINX_SITE.read_text()
    servers = "\n".join(
        f"    server {address} max_fails=1 fail_timeout=5s{' down' if address in down else ''};"
        for address in upstreams
    )
    text = re.sub(r"^ *server @APP_SERVER@[^\n]*\n(?: *server @APP_SERVER@[^\n]*\n)*",
                  servers + "\n", text, flags=re.M)  # fmt: skip
    text = text.replace("@LISTEN@", listen).replace("@SERVER_NAME@", server_name)
    if "@" in re.sub(r"#.*", "", text):
        raise ValueError("deploy/nginx/lca.conf has a placeholder render_site does not fill")
    return text


def main_conf(root: Path, site: Path) -> str:
    """A whole nginx.conf around the site: everything nginx writes goes under ``root``."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # the temp dir is root's alone
    temp = "\n".join(
        f"    {kind}_temp_path {root / 'temp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
daemon off;
master_process on;
pid {root / "nginx.pid"};
error_log {root / "error.log"} info;
events {{ worker_connections 512; }}
http {{
{temp}
    log_format cluster '$remote_addr [$time_local] "$request" $status '
                       '$upstream_addr $upstream_status $request_id';
    access_log {root / "access.log"} cluster;
    include {site};
}}
"""


class Nginx:
    """nginx in the foreground with the rendered site on 127.0.0.1:port."""

    def __init__(self, upstreams: list[str], port: int | None = None, binary: str = NGINX) -> None:
        if not Path(binary).exists():
            raise FileNotFoundError(f"{binary} not found (Debian package nginx)")
        self.binary, self.port = binary, port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="lca-nginx-"))
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.root / "temp" / kind).mkdir(parents=True)
        self.site, self.upstreams = self.root / "lca.conf", upstreams
        self.site.write_text(render_site(upstreams, f"127.0.0.1:{self.port}"))
        self.conf = self.root / "nginx.conf"
        self.conf.write_text(main_conf(self.root, self.site))
        self.access_log = self.root / "access.log"
        self.process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.root), "-c", str(self.conf),
                "-e", str(self.root / "error.log"), *extra]  # fmt: skip

    def test_config(self) -> subprocess.CompletedProcess:
        """``nginx -t`` on the rendered configuration."""
        return subprocess.run(self.command("-t"), capture_output=True, text=True, check=False)  # noqa: S603

    def _answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2):
            return True

    def start(self) -> Nginx:
        with (self.root / "stderr.log").open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - the installed nginx
                self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self._answers, "nginx listening", 20, self.process)
        return self

    def drain(self, *addresses: str) -> None:
        """Send no new request to ``addresses`` (marked ``down``; none: every server up again),
        by a graceful reload (SIGHUP: new workers read the file, the old ones finish their
        requests), as an operator does before restarting a server."""
        self.site.write_text(
            render_site(self.upstreams, f"127.0.0.1:{self.port}", down=frozenset(addresses))
        )
        if self.test_config().returncode != 0:
            raise RuntimeError(f"nginx -t refused the drained site:\n{self.site.read_text()}")
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def close(self) -> None:
        try:
            stop_process(self.process, signal.SIGQUIT)  # nginx's graceful stop
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# --- the app servers -----------------------------------------------------------------------------


class AppServer:
    """One LCA gunicorn server (``workers`` workers) on a fixed port, which can be killed and
    started again on that port; its access log is kept across restarts (appended)."""

    def __init__(self, name: str, env: dict[str, str], folder: Path, workers: int = 2) -> None:
        self.name, self.env, self.workers = name, env, workers
        self.port = free_port()
        self.folder = folder
        self.access_log = folder / f"{name}-access.log"
        self.error_log = folder / f"{name}-error.log"
        self.gunicorn: Gunicorn | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def master(self) -> int:
        assert self.gunicorn is not None
        return self.gunicorn.process.pid

    def start(self, **env: str) -> AppServer:
        self.env = {**self.env, **env, "LCA_BIND": self.address, "LCA_WORKERS": str(self.workers)}
        if "PROMETHEUS_MULTIPROC_DIR" in self.env:
            Path(self.env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = self.folder / f"{self.name}-error-{self.starts}.log"
        self.gunicorn = Gunicorn(
            self.env, self.port, log, workers=self.workers, preload=True,
            access_log=self.access_log, config=GUNICORN_CONF,
        )  # fmt: skip
        self.gunicorn.wait_ready()
        return self

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (the process group), as a crash does."""
        os.killpg(self.master, signal.SIGKILL)  # the group we started, by its id
        assert self.gunicorn is not None
        self.gunicorn.process.wait()

    def hup(self) -> list[int]:
        """SIGHUP the master (gunicorn replaces its workers gracefully); the old workers."""
        old = worker_pids(self.master)
        os.kill(self.master, signal.SIGHUP)
        return old

    def hup_done(self, old: list[int]) -> bool:
        now = worker_pids(self.master)
        return len(now) == self.workers and not set(now) & set(old)

    def access_lines(self) -> int:
        return len(self.access_log.read_text().splitlines()) if self.access_log.exists() else 0

    def stop(self) -> int | None:
        return self.gunicorn.stop() if self.gunicorn else None


# --- the cluster ---------------------------------------------------------------------------------


# the commands' app (``flask`` builds it with serving=False: a served one has no ``db`` command)
PREPARE = """
import sys
from lca import create_app
runner = create_app(serving=False).test_cli_runner()
for args in (["db", "upgrade"], ["lca", "seed"], ["lca", "demo", "--allow-production"],
             ["lca", "keys", "generate"]):
    result = runner.invoke(args=args)
    if result.exit_code != 0:
        sys.exit(f"flask {' '.join(args)} failed:\\n{result.output}{result.exception!r}")
"""


@dataclass
class Cluster:
    """PostgreSQL, Redis, moto, two app servers, the worker and nginx in front (all local)."""

    settings: dict[str, str] = field(default_factory=dict)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lca-cluster-")))
    postgres: ThrowawayPostgres | None = None
    redis: RedisServer | None = None
    s3: MotoS3 | None = None
    servers: list[AppServer] = field(default_factory=list)
    worker: subprocess.Popen | None = None
    nginx: Nginx | None = None
    database_url: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> Cluster:
        self.postgres = ThrowawayPostgres().start()
        self.database_url = self.postgres.create_database("lca_cluster")
        self.redis = RedisServer().start()
        self.s3 = MotoS3().start()
        proxy_port = free_port()
        # one environment for every process: the same secret, database, files and Redis
        self.env = instance_env(
            self.database_url,
            self.folder / "data",
            proxy_port,
            LCA_SECRET_KEY=secrets.token_hex(32),
            LCA_RATELIMIT_STORAGE_URL=self.redis.url,
            LCA_PROXY_COUNT="1",
            LCA_MAIL_URL=f"file://{self.folder / 'mail'}",
            AWS_ACCESS_KEY_ID=S3_KEY_ID,
            AWS_SECRET_ACCESS_KEY=S3_SECRET,
            **self.settings,
        )
        python(self.env, "-c", PREPARE)
        for name in ("a", "b"):
            env = {**self.env}
            if "LCA_METRICS_TOKEN" in env:
                env["PROMETHEUS_MULTIPROC_DIR"] = str(self.folder / f"metrics-{name}")
            self.servers.append(AppServer(name, env, self.folder))
        for server in self.servers:
            server.start()
        with (self.folder / "worker.log").open("wb") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "lca", "worker"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        # on the address LCA_PUBLIC_URL names
        self.nginx = Nginx([server.address for server in self.servers], proxy_port).start()
        return self

    def close(self) -> None:
        """Everything down, in reverse, each part whatever the others did."""
        steps = [
            lambda: self.nginx and self.nginx.close(),
            lambda: stop_process(self.worker),
            *[server.stop for server in self.servers],
            lambda: self.s3 and self.s3.close(),
            lambda: self.redis and self.redis.close(),
            lambda: self.postgres and self.postgres.stop(),
            lambda: shutil.rmtree(self.folder, ignore_errors=True),
        ]
        for step in steps:
            try:
                step()
            except Exception as error:  # the next part must come down too
                print(f"cluster teardown: {error!r}", file=sys.stderr)
