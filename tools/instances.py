"""Throwaway LCA instances, for the tests, the benchmarks (bench/) and the tools (tools/) alike.

- ``ThrowawayPostgres``: a PostgreSQL server started from the installed binaries in a temporary
  directory (initdb refuses to run as root, so as root the server runs as the ``postgres``
  system user, created by Debian's postgresql package, in a directory that user owns);
- ``free_port``: a TCP port on 127.0.0.1 that nobody listens on;
- ``instance_env`` and ``flask``: the environment of a production instance on a database, and
  the real ``flask --app wsgi …`` commands run on it;
- ``Gunicorn``: that instance served by gunicorn on 127.0.0.1, stopped as a deployment stops it.
"""

from __future__ import annotations

import glob
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    """Where initdb and pg_ctl are: LCA_PG_BINDIR, the newest /usr/lib/postgresql/*/bin, PATH."""
    candidates = [os.environ.get("LCA_PG_BINDIR", "")]
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "initdb").exists()
            and (Path(candidate) / "pg_ctl").exists()
        ):
            return Path(candidate)
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install the 'postgresql' package "
        "or set LCA_PG_BINDIR."
    )


def free_port() -> int:
    """A port on 127.0.0.1 free at the moment of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    """initdb + pg_ctl start in a temporary directory; ``stop()`` removes everything."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="lca-pg-"))
        self.data = self.root / "data"
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(  # noqa: S603 - the server's own binaries, arguments built here
            command, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> ThrowawayPostgres:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "start",
        )
        return self

    def create_database(self, name: str, template: str | None = None) -> str:
        """An empty database, or a copy of ``template`` (which nobody may be connected to)."""
        copy = ["-T", template] if template else []
        self._run(
            str(self.bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            *copy,
            name,
        )
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def instance_env(database_url: str, data_dir: Path, port: int, **settings: str) -> dict[str, str]:
    """The environment of a throwaway production instance on ``database_url`` served on
    ``port``: this process's environment without its own LCA_* settings, then ``settings``."""
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith("LCA_")},
        "LCA_ENV": "production",
        "LCA_DATABASE_URL": database_url,
        "LCA_DATA_DIR": str(data_dir),
        "LCA_SECRET_KEY": secrets.token_hex(32),
        "LCA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
        **settings,
    }


def python(env: dict[str, str], *arguments: str, cwd: Path = ROOT) -> str:
    """Run this Python on the instance, with the code of ``cwd`` (this checkout, or another
    one's, e.g. an earlier release's); its output, or exit with it on failure."""
    result = subprocess.run(  # noqa: S603 - our own Python, arguments built here
        [sys.executable, *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def flask(env: dict[str, str], *command: str, cwd: Path = ROOT) -> str:
    """Run ``flask --app wsgi …`` on the instance (with the code of ``cwd``)."""
    return python(env, "-m", "flask", "--app", "wsgi", *command, cwd=cwd)


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's children, read from /proc."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == master and fields[0] != "Z":
            children.append(int(entry))
    return children


class Gunicorn:
    """LCA (``wsgi:app``) served by gunicorn on 127.0.0.1:port, in a process group of its own.

    Its output (the error log, and so Flask's tracebacks) goes to ``log``; with ``access_log``
    it also writes an access log there, in ``access_format`` when given. ``config``: a gunicorn
    config file (deploy/gunicorn.conf.py) read first; the settings given here override it."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        log: Path,
        *,
        workers: int,
        threads: int = 1,
        preload: bool = False,
        access_log: Path | None = None,
        access_format: str | None = None,
        cwd: Path = ROOT,
        config: Path | None = None,
    ):
        """``cwd``: the checkout whose code it serves (this one, or an earlier release's)."""
        self.port, self.log, self.workers = port, log, workers
        access = ["--access-logfile", str(access_log)] if access_log else []
        if access_format:
            access += ["--access-logformat", access_format]
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            *(["--config", str(config)] if config else []),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "20",
            "--no-control-socket",  # gunicorn 27's default socket is one path per user: shared
            *(["--preload"] if preload else []),
            *access,
            "wsgi:app",
        ]
        with log.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, arguments built here
                command,
                cwd=cwd,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        """Until /healthz answers 200 and every worker has started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited early:\n{self.log.read_text()}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", "/healthz")
                ok = connection.getresponse().status == 200
                if ok and len(worker_pids(self.process.pid)) == self.workers:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not become ready within {timeout:.0f} s")

    def stop(self) -> int:
        """SIGTERM: the master lets the workers finish their requests, then exits; its exit
        status (-9 when it had to be killed, with its process group). Stopping twice is a
        no-op that returns the same status."""
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group we started, by its id
            self.process.wait()
            return -9
