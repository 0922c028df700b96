"""gunicorn settings for Candor's web process (Procfile `web`, deploy/systemd/candor-web.service).

gthread workers, one process per CPU with 4 threads each: what bench/pages.py measured best
(bench/README.md). Override with WEB_CONCURRENCY, GUNICORN_THREADS, PORT / GUNICORN_BIND.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 30
backlog = 2048
timeout = 30
graceful_timeout = 30
# One line per request comes from Candor's own middleware (JSON in production), with its id.
accesslog = None
errorlog = "-"
# Behind a reverse proxy on the same machine: trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
wsgi_app = "candor.wsgi:application"


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
