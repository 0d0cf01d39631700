"""gunicorn's settings for LCA: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

LCA_BIND (default 127.0.0.1:8000) and LCA_WORKERS (default two per core) from the
environment. With PROMETHEUS_MULTIPROC_DIR set, the workers keep their /metrics counts in that
folder: it is emptied here at each start, and a worker's files are marked dead when it exits.
"""

import multiprocessing
import os
import shutil
from pathlib import Path

bind = os.environ.get("LCA_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("LCA_WORKERS", "0") or 0) or 2 * multiprocessing.cpu_count()
preload_app = True
timeout = 60
graceful_timeout = 30
control_socket_disable = True  # gunicorn 27's --no-control-socket: no socket in $HOME
accesslog = "-"
#: gunicorn's combined format, then the time taken (µs) and the request id LCA answered with
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s %({x-request-id}o)s'
)


def on_starting(server):
    """Empty PROMETHEUS_MULTIPROC_DIR: counts left by an earlier run would be added in."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for entry in path.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def child_exit(server, worker):
    """A worker's live gauges (database connections) stop counting when it exits."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
