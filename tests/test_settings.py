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
        if key not in PRODUCTION_ENV and not key.startswith(("DJANGO_", "CANDOR_", "TWILIO_", "SENDGRID_"))
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
