"""Settings: production refuses unsafe defaults and passes Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 30 + "-production-secret-key-for-the-test-only-0123456789",
    "ALLOWED_HOSTS": "candor.example.com",
    "CANDOR_PUBLIC_URL": "https://candor.example.com",
}


def manage(*args, env):
    # A fresh process environment: nothing a browser test or a developer's shell set leaks in.
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in PRODUCTION_ENV
        and key not in ("REDIS_URL", "TASKS_BACKEND")
        and not key.startswith(("DJANGO_", "CANDOR_", "TWILIO_", "SENDGRID_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
    )


def test_check_deploy_is_clean_with_a_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_refuses_to_start_without_its_public_url():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "CANDOR_PUBLIC_URL"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "CANDOR_PUBLIC_URL must be set" in result.stderr


def show_setting(expression, env, *args):
    """A setting's value as a fresh `manage.py <args>` process sees it (settings read sys.argv)."""
    code = (
        "import sys, django, os; sys.argv = ['manage.py', *sys.argv[1:]]; "
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'candor.settings'); django.setup(); "
        f"from django.conf import settings; print(repr({expression}))"
    )
    base = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CANDOR_"))}
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_proxy_ssl_header_is_trusted_only_when_configured():
    assert show_setting("settings.SECURE_PROXY_SSL_HEADER", PRODUCTION_ENV) == "None"
    configured = {**PRODUCTION_ENV, "CANDOR_PROXY_SSL_HEADER": "X-Forwarded-Proto"}
    assert show_setting("settings.SECURE_PROXY_SSL_HEADER", configured) == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_runserver_keeps_no_database_connection_between_requests():
    postgres = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/candor"}
    assert show_setting("settings.DATABASES['default']['CONN_MAX_AGE']", postgres, "runserver") == "0"
    assert show_setting("settings.DATABASES['default']['CONN_MAX_AGE']", postgres, "check") == "60"
