"""What the benchmark scripts share: a throwaway instance, gunicorn, the machine's description."""

from __future__ import annotations

import http.client
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def instance_env(url: str, folder: Path, port: int, **settings: str) -> dict[str, str]:
    """The environment of a throwaway production instance on ``url`` served on ``port``."""
    return {
        **os.environ,
        "LCA_DATABASE_URL": url,
        "LCA_DATA_DIR": str(folder / "data"),
        "LCA_SECRET_KEY": secrets.token_hex(32),
        "LCA_ENV": "production",
        "LCA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **settings,
    }


def python(env: dict[str, str], *arguments: str) -> str:
    """Run this Python on the instance; its output, or exit with it on failure."""
    result = subprocess.run(  # noqa: S603 - our own Python, fixed arguments
        [sys.executable, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def flask(env: dict[str, str], *command: str) -> str:
    """Run ``flask --app wsgi …`` on the instance."""
    return python(env, "-m", "flask", "--app", "wsgi", *command)


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
    """LCA served by gunicorn on 127.0.0.1:port, its output in ``log``."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        log: Path,
        *,
        workers: int,
        threads: int = 1,
        preload: bool = False,
    ):
        self.port, self.log, self.workers = port, log, workers
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
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
            "wsgi:app",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited early:\n{self.log.read_text()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                ok = connection.getresponse().status == 200
                connection.close()
                if ok and len(worker_pids(self.process.pid)) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("gunicorn did not become ready")

    def stop(self) -> int:
        """SIGTERM: the master lets the workers finish their requests, then exits."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -9


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{platform.machine()} {model}, {os.cpu_count()} CPUs{memory}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def revision() -> str:
    """The commit under test, marked when the working tree has changes."""

    def git(*args: str) -> str:
        result = subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *args],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.strip()

    # what the benchmarks write themselves does not make the code under test another one
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results")
    return git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else "")
