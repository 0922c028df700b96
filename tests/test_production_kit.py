"""The production kit as an operator meets it: the process file, the systemd units, the task engine
and the shared cache chosen by environment variables alone."""

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import needs_redis, redis_test_url
from tests.test_settings import PRODUCTION_ENV, manage

ROOT = Path(__file__).resolve().parent.parent


def shell(code, env):
    """Run Python in a fresh Candor process; returns its last line of output."""
    result = manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_procfile_runs_web_worker_and_both_sweeps():
    result = subprocess.run(
        [sys.executable, "-m", "honcho", "check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    processes = dict(
        line.split(": ", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert processes["web"] == "gunicorn --config gunicorn.conf.py"
    assert (
        processes["worker"]
        == "python manage.py rqworker default fanout email sms timers team_channels webhooks --with-scheduler"
    )
    assert set(processes) == {"web", "worker", "sweep_outbox", "sweep_timers"}


def test_gunicorn_runs_gthread_workers_sized_from_the_cpu_count(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread"
    assert config["workers"] == os.cpu_count() and config["threads"] == 4


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    """Verified as installed: the paths of /opt/candor pointed at this checkout."""
    (tmp_path / "candor.env").write_text("")
    units = []
    for template in (ROOT / "docs" / "systemd").glob("*.service"):
        text = template.read_text().replace("/opt/candor", str(ROOT))
        text = text.replace("/etc/candor/candor.env", str(tmp_path / "candor.env"))
        instance = {
            "candor-worker@.service": "candor-worker@1.service",
            "candor-sweep@.service": "candor-sweep@outbox.service",
        }.get(template.name, template.name)
        (tmp_path / instance).write_text(text)
        units.append(str(tmp_path / instance))
    assert len(units) == 3
    result = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "ignoring" not in result.stderr, result.stderr


def test_the_task_engine_is_chosen_by_settings_alone():
    code = "from django_tasks import task_backends; print(type(task_backends['default']).__name__)"
    assert shell(code, env={}) == "DatabaseBackend"
    assert shell(code, env={"TASKS_BACKEND": "rq"}) == "RQBackend"


def test_production_on_rq_refuses_to_start_without_redis_url():
    result = manage("check", env={**PRODUCTION_ENV, "TASKS_BACKEND": "rq"})
    assert result.returncode != 0
    assert "TASKS_BACKEND=rq needs REDIS_URL when DEBUG is off" in result.stderr
    assert (
        manage(
            "check", env={**PRODUCTION_ENV, "TASKS_BACKEND": "rq", "REDIS_URL": "redis://redis.internal:6379/0"}
        ).returncode
        == 0
    )


def test_production_logs_json_lines():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "import logging; logging.getLogger('candor.test').warning('hello')",
        env=PRODUCTION_ENV,
    )
    assert '"level": "WARNING", "logger": "candor.test", "message": "hello"}' in result.stderr


@needs_redis()
def test_the_shared_cache_on_redis(redis_test_db):
    code = (
        "from django.core.cache import cache; cache.set('shared', 'across processes'); "
        "from django.core.cache import caches; print(type(caches['default']).__name__)"
    )
    assert shell(code, env={"CANDOR_CACHE_URL": redis_test_url()}) == "RedisCache"
    seen = shell(
        "from django.core.cache import cache; print(cache.get('shared'))", env={"CANDOR_CACHE_URL": redis_test_url()}
    )
    assert seen == "across processes"  # another process reads what the first stored
