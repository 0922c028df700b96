"""Import benchmark: a CSV of N contacts (default 100,000; 2,000 clients in four countries, email
and SMS) imported as the background job does it (ImportJob -> the task on the default queue, run
by `manage.py db_worker`), then imported again (every row unchanged).

    make bench-imports                  # N=100000 on $DATABASE_URL (default: var/bench-imports.sqlite3)
    make bench-imports IMPORT_N=50000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/candor_bench

Prints the file size, rows per second of the first and the second import, and peak memory.
"""

import argparse
import csv
import io
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fanout import reset_database  # noqa: E402

# (country, language, timezone, mobile number pattern, first number, how many numbers)
COUNTRIES = [
    ("DE", "de", "Europe/Berlin", "+49151{:08d}", 20_000_000, 10_000_000),
    ("JP", "ja", "Asia/Tokyo", "+81902{:07d}", 2_000_000, 999_999),
    ("ES", "es", "Europe/Madrid", "+346{:08d}", 20_000_000, 10_000_000),
    ("GB", "en", "Europe/London", "+447400{:06d}", 200_000, 799_999),
]


def contacts_file(n):
    from accounts.importing import COLUMNS

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, restval="")
    writer.writeheader()
    for i in range(n):
        country, language, zone, phone, first, count = COUNTRIES[(i // 50) % len(COUNTRIES)]
        writer.writerow(
            {
                "client_name": f"Client {i // 50}",
                "client_country": country,
                "client_language": language,
                "client_timezone": zone,
                "client_tags": "api;eu",
                "contact_name": f"Reader {i}",
                "contact_email": f"reader{i}@bench.example",
                "contact_phone": phone.format(first + i % count),
                "contact_channels": "email;sms",
                "contact_sms_consent": "granted",
            }
        )
    return buffer.getvalue().encode()


def run_job(organization, content):
    from accounts.importing import import_job_report, import_job_start
    from accounts.models import ImportJob

    job = import_job_start(organization=organization, actor=None, csv_file=content, file_name="bench.csv")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--queue-name", "default", "--no-startup-delay"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - started
    return import_job_report(ImportJob.objects.get(pk=job.pk)), elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=100_000)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'bench-imports.sqlite3'}"
    os.environ.update(
        {"DJANGO_SETTINGS_MODULE": "candor.settings", "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    )
    reset_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import Organization

    organization = Organization.objects.create(name="Bench Corp", slug="bench", country="DE", timezone="Europe/Berlin")
    content = contacts_file(args.n)
    print(f"{args.n:,} rows, {len(content) / 1024 / 1024:.1f} MB, on {database_url.split('://')[0]}")
    for label in ("first import (all new)", "second import (all unchanged)"):
        report, elapsed = run_job(organization, content)
        assert report is not None and report.imported and not report.errors, report and report.summary()
        print(f"{label:<32} {elapsed:6.1f} s  {args.n / elapsed:8,.0f} rows/s  ({report.summary().splitlines()[-1]})")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak worker memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
