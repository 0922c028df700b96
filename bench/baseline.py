"""The usual Django stack beside Candor, in one run: N emails through django-post-office and
django-anymail's SendGrid backend (their defaults; `send_queued_mail --processes 2`), then the
same N emails through Candor (`bench/fanout.py --email-only`), both against the same fake
SendGrid (bench/fake_providers.py, its own processes, 20 ms), and the ratio of their rates.

    make bench-baseline N=5000        # needs the bench extra: pip install -e '.[bench]'
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fanout import Fakes, configure_environment, cpu_seconds, reset_database  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=int(os.environ.get("N", "5000")))
    parser.add_argument("--processes", type=int, default=2, help="send_queued_mail --processes")
    parser.add_argument("--latency-ms", type=float, default=20)
    args = parser.parse_args()
    database_url = os.environ.get("BASELINE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/candor_baseline_bench")
    if not database_url.endswith("_bench"):
        sys.exit("Refusing to reset a database whose name does not end in _bench.")

    (ROOT / "var").mkdir(exist_ok=True)
    fakes = Fakes(2, args.latency_ms)
    configure_environment(fakes.base_url, database_url)
    os.environ["DJANGO_SETTINGS_MODULE"] = "baseline_settings"
    os.environ["PYTHONPATH"] = f"{ROOT / 'bench'}:{ROOT}"
    reset_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from post_office import mail

    call_command("migrate", verbosity=0)
    print(f"load average                {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 shared cores)")
    print(f"django-post-office + anymail: queueing {args.n} emails ...", flush=True)
    started = time.monotonic()
    mail.send_many(
        [
            {
                "recipients": [f"reader{i}@bench.example"],
                "sender": "Bench Corp <updates@bench.example>",
                "subject": "Bench outage",
                "message": f"Hello Reader {i}. Investigating. Next update 10:30. https://candor.bench.example/s/{i}/",
            }
            for i in range(args.n)
        ]
    )
    queued = time.monotonic()
    fakes.collect()
    sender = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "send_queued_mail", "--processes", str(args.processes)],
        cwd=ROOT,
        env=os.environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sending = time.monotonic()
    cpu = 0.0
    while sender.poll() is None:
        try:
            cpu = max(cpu, cpu_seconds(sender.pid))
        except FileNotFoundError:
            break
        time.sleep(0.2)
    records = fakes.collect(final=True)
    emails = sum(len(recipients) for channel, _, status, recipients in records if channel == "email" and status == 202)
    last = max((at for channel, at, status, _ in records if channel == "email"), default=sending)
    baseline_rate = emails / max(last - sending, 1e-9)
    print(
        f"  queued in {queued - started:.2f} s; sent {emails} in {last - sending:.2f} s: {baseline_rate:,.0f} emails/s"
    )
    print(
        f"  ({len(records)} requests; sender's own CPU {1e6 * cpu / max(1, emails):,.0f} us per email, children excluded)"
    )

    print(f"Candor: the same {args.n} emails ...", flush=True)
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "candor.settings", "PYTHONPATH": str(ROOT)}
    environment.pop("DATABASE_URL")
    environment["DATABASE_URL"] = database_url.replace("candor_baseline_bench", "candor_baseline_candor_bench")
    output = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "fanout.py"),
            "-n",
            str(args.n),
            "--email-only",
            "--latency-ms",
            str(args.latency_ms),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    ).stdout
    print("\n".join("  " + line for line in output.splitlines() if line.strip()))
    match = re.search(r"email handed over\s+([\d,]+) /s", output)
    if match:
        candor_rate = float(match.group(1).replace(",", ""))
        print(
            f"\nCandor / post-office+anymail  {candor_rate / baseline_rate:.1f} x ({candor_rate:,.0f} vs {baseline_rate:,.0f} emails/s)"
        )


if __name__ == "__main__":
    main()
