"""manage.py simulate_crisis --incidents 1000 --hours 24 [--seed N] [--keep]: many concurrent
incidents whose commanders publish on time, late or not at all, with time travelled (never slept).

Everything runs through the real services: incidents are created and activated, updates
published, and the timers are the real task rows the services wrote, run in time order through
the same task functions a worker calls. At the end it prints how every promise ended; a promise
whose due time passed with neither an update, a holding statement nor an escalation is a silent
miss, and any silent miss fails the command.

The simulation runs in a throwaway organisation inside one transaction that is rolled back at the
end (unless --keep): the database is left as it was. Messages are queued, not delivered.
"""

import argparse
import datetime as dt
import heapq
import itertools
import json as json_module
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from accounts.models import ClientAccount, Contact, Organization, Role, SmsConsent, User
from comms.rendering import apply_substitutions
from playbooks.incidents.services import checklist_item_complete, incident_create, incident_transition
from playbooks.models import (
    DeadlineAlert,
    Incident,
    IncidentChecklistItem,
    IncidentUpdate,
    Playbook,
    PlaybookStage,
    PromiseEvent,
    State,
)
from playbooks.promises.services import cadence_adherence_for, consecutive_holding_statements
from playbooks.starter import starter_playbooks_load
from playbooks.updates.services import update_draft, update_publish

MINUTE = dt.timedelta(minutes=1)
# How a commander answers each promise: publish on time, late, come back much later, or never.
BEHAVIOURS = [("on_time", 0.62), ("late", 0.18), ("absent", 0.17), ("gone", 0.03)]
# The outage lifecycle a simulated incident walks through, by the share of its updates done.
STEPS = [(1 / 3, "identify"), (2 / 3, "monitor")]


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Simulate many concurrent incidents with time travel and print the cadence adherence table."

    def add_arguments(self, parser):
        parser.add_argument("--incidents", type=int, default=1000)
        parser.add_argument("--hours", type=float, default=24)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--commanders", type=int, default=25, help="Commanders per organisation simulated.")
        parser.add_argument(
            "--processes",
            type=int,
            default=0,
            help="Split the incidents over N processes, each with its own temporary SQLite database "
            "(default: one per CPU, at most 4). With 1, the simulation runs here, in the configured "
            "database, and is rolled back.",
        )
        parser.add_argument(
            "--keep", action="store_true", help="Keep the simulated organisation and its data (implies --processes 1)."
        )
        parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one part of a parallel run

    def handle(self, *args, incidents, hours, seed, commanders, processes, keep, json, **options):
        if incidents < 1 or hours <= 0:
            raise CommandError("Give at least one incident and a positive number of hours.")
        processes = 1 if keep or json else (processes or min(4, os.cpu_count() or 1))
        processes = max(1, min(processes, incidents))
        started = time.monotonic()
        if processes == 1:
            report = simulate(incidents=incidents, hours=hours, seed=seed, commanders=commanders, keep=keep)
        else:
            report = simulate_in_parallel(
                incidents=incidents, hours=hours, seed=seed, commanders=commanders, processes=processes
            )
        if json:
            self.stdout.write(json_module.dumps(report))
            return
        report["seconds"] = time.monotonic() - started
        self.stdout.write(
            format_report(report, incidents=incidents, hours=hours, seed=seed, kept=keep, processes=processes)
        )
        if (
            report["silent"]
            or report["silent_deadlines"]
            or report["timers_unrun"]
            or report["promises_without_time"]
            or report["broken_variables"]
        ):
            raise CommandError(
                f"{report['silent']} promises and {report['silent_deadlines']} deadlines passed silently; "
                f"{report['timers_unrun']} due timers were not run; {report['promises_without_time']} messages "
                f"promise a next update without a time and {report['broken_variables']} carry a broken variable."
            )


def simulate(*, incidents, hours, seed, commanders, keep):
    """Run one simulation in this process and database; roll it back unless `keep`."""
    try:
        import time_machine
    except ImportError as exc:  # a development dependency
        raise CommandError("simulate_crisis needs the time-machine package (pip install time-machine).") from exc
    start_at = timezone.now().replace(second=0, microsecond=0) + MINUTE
    simulation = Simulation(
        random.Random(seed),
        incidents=incidents,
        hours=hours,
        commanders=commanders,
        start_at=start_at,
    )
    quiet = logging.getLogger("django_tasks")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # a line per task would drown the table
    report = None
    with time_machine.travel(start_at, tick=False) as traveller:
        simulation.traveller = traveller
        try:
            with transaction.atomic():
                simulation.run()
                report = simulation.report()
                if not keep:
                    raise Rollback
        except Rollback:
            pass
        finally:
            quiet.setLevel(level)
    return report


def simulate_in_parallel(*, incidents, hours, seed, commanders, processes):
    """Split the incidents over processes, each migrating and using its own temporary SQLite file
    (incidents are independent, so the parts add up), and add their reports."""
    manage_py = str(settings.BASE_DIR / "manage.py")
    with tempfile.TemporaryDirectory(prefix="candor-simulation-") as directory:
        template = Path(directory) / "template.sqlite3"
        migrated = subprocess.run(
            [sys.executable, manage_py, "migrate", "--noinput", "-v0"],
            env={**os.environ, "DATABASE_URL": f"sqlite:///{template}"},
            capture_output=True,
            text=True,
        )
        if migrated.returncode:
            raise CommandError(f"Could not prepare the simulation database:\n{migrated.stderr}")
        parts = []
        for part in range(processes):
            share = incidents // processes + (1 if part < incidents % processes else 0)
            database = Path(directory) / f"part-{part}.sqlite3"
            shutil.copyfile(template, database)
            parts.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        manage_py,
                        "simulate_crisis",
                        "--json",
                        "--incidents",
                        str(share),
                        "--hours",
                        str(hours),
                        "--seed",
                        str(seed * 7919 + part),
                        "--commanders",
                        str(commanders),
                    ],
                    env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        reports = []
        for process in parts:
            out, err = process.communicate()
            if process.returncode:
                raise CommandError(f"A simulation process failed:\n{err[-3000:]}")
            reports.append(json_module.loads(out.strip().splitlines()[-1]))
    return {key: sum(report[key] for report in reports) for key in reports[0]}


class Simulation:
    def __init__(self, rng, *, incidents, hours, commanders, start_at):
        self.rng = rng
        self.incident_count = incidents
        self.hours = hours
        self.commander_count = commanders
        self.start_at = start_at
        self.end_at = start_at + dt.timedelta(hours=hours)
        self.events = []
        self.sequence = itertools.count()
        self.plans = {}  # incident id -> {"updates": n wanted, "done": n published}
        self.traveller = None
        self.pending = {}  # incident id -> when someone publishes next
        self.timers_written = 0
        self.finished_timers = []
        self.counts = {"timer_runs": 0, "commander_updates": 0, "transitions": 0, "completed_items": 0}

    # -- setting up ------------------------------------------------------------------------------

    def setup(self):
        tag = uuid.uuid4().hex[:8]
        self.organization = Organization.objects.create(
            name=f"Simulation {tag}", slug=f"simulation-{tag}", country="DE", timezone="Europe/Berlin"
        )
        org = self.organization

        def member(name, role, number):
            return User.objects.create(
                username=f"{name}-{tag}",
                organization=org,
                role=role,
                email=f"{name}@{tag}.simulation.invalid",
                phone=f"+49151{number:08d}",
            )

        self.commanders = [member(f"commander{n:02d}", Role.COMMANDER, 1000 + n) for n in range(self.commander_count)]
        for n in range(3):
            member(f"leader{n}", Role.LEADERSHIP, 2000 + n)
        for n in range(3):
            client = ClientAccount.objects.create(
                organization=org,
                name=f"Client {n}",
                country="DE",
                default_language="en",
                timezone="Europe/Berlin",
                tags=["simulation"],
            )
            Contact.objects.create(
                client=client,
                name=f"Contact {n}",
                email=f"contact{n}@{tag}.simulation.invalid",
                phone=f"+49152{n:08d}",
                accepts_sms=True,
                sms_consent=SmsConsent.GRANTED,
            )
        starter_playbooks_load(organization=org)
        self.playbook = Playbook.objects.get(organization=org, slug="outage-standard")
        # Holding statements in investigating and monitoring; none in identified, to exercise escalation.
        stage = PlaybookStage.objects.get(playbook=self.playbook, stage=State.IDENTIFIED)
        stage.auto_holding_statement = False
        stage.save()
        # Two of the starter's deadlines (1 h and 4 h) keep the run short and still reach every alert.
        items = list(self.playbook.checklist_items.order_by("position", "id"))
        keep = {items[0].pk, next(item.pk for item in items if item.due_after_hours == 4)}
        self.playbook.checklist_items.exclude(pk__in=keep).delete()
        self.playbook.refresh_from_db()
        window = dt.timedelta(hours=self.hours * 0.6)
        for _ in range(self.incident_count):
            self.push(self.start_at + window * self.rng.random(), "start", None)

    # Events: (at, order, sequence, kind, incident id, payload); at the same moment timers go first.
    def push(self, at, kind, incident_id, payload=None, *, order=1):
        heapq.heappush(self.events, (at, order, next(self.sequence), kind, incident_id, payload))

    # -- the loop ------------------------------------------------------------------------------

    def run(self):
        """Everything in time order: commanders' actions and the timer rows the services write.

        Each timer row written (task_enqueued) is mirrored into the event queue, so timers run at
        their own `run_after`, through the task function a worker calls, with nothing polled.
        """
        from django_tasks.signals import task_enqueued

        def mirror(sender, task_result, **kwargs):
            if task_result.task.queue_name == "timers":
                self.timers_written += 1
                self.push(task_result.task.run_after, "timer", None, task_result, order=0)

        task_enqueued.connect(mirror, dispatch_uid="simulate_crisis")
        try:
            self.setup()
            while self.events and self.events[0][0] <= self.end_at:
                at, _, _, kind, incident_id, payload = heapq.heappop(self.events)
                self.move_to(at)
                getattr(self, f"on_{kind}")(incident_id, payload)
            self.move_to(self.end_at)
            self.mark_timers_run()
        finally:
            task_enqueued.disconnect(dispatch_uid="simulate_crisis")

    def move_to(self, at):
        self.traveller.move_to(at)

    def on_timer(self, _incident_id, task_result):
        result = task_result.task.call(*task_result.args, **task_result.kwargs)
        self.counts["timer_runs"] += 1
        self.finished_timers.append(task_result.id)
        if len(self.finished_timers) >= 500:
            self.mark_timers_run()
        update_id = task_result.kwargs.get("update_id")
        if update_id is None:
            return
        if result == "second_escalation":
            # The backup, alerted with leadership, takes over.
            self.take_over(update_id, MINUTE * self.rng.uniform(3, 25))
        elif result == "holding":
            incident_id = IncidentUpdate.objects.values_list("incident_id", flat=True).get(pk=update_id)
            if consecutive_holding_statements(Incident(pk=incident_id)) >= 2:
                self.take_over(update_id, MINUTE * self.rng.uniform(5, 40))

    def mark_timers_run(self):
        """Record the timers run as a worker would (in batches: the simulation has no other worker)."""
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        now = timezone.now()
        DBTaskResult.objects.filter(pk__in=self.finished_timers).update(
            status=TaskResultStatus.SUCCESSFUL,
            started_at=now,
            finished_at=now,
            worker_ids=["simulate_crisis"],
        )
        self.finished_timers = []

    def take_over(self, update_id, after):
        incident_id = IncidentUpdate.objects.values_list("incident_id", flat=True).get(pk=update_id)
        at = timezone.now() + after
        pending = self.pending.get(incident_id)
        if pending is not None and pending <= at:
            return  # someone is already about to publish
        self.schedule_publish(incident_id, at, by="backup")

    # -- what commanders do ------------------------------------------------------------------------

    def schedule_publish(self, incident_id, at, *, by="commander"):
        self.pending[incident_id] = at
        self.push(at, "publish", incident_id, {"by": by, "at": at})

    def on_start(self, _incident_id, _payload):
        commander, backup = self.rng.sample(self.commanders, 2)
        now = timezone.now()
        incident = incident_create(
            playbook=self.playbook,
            actor=commander,
            title=f"Simulated outage {len(self.plans) + 1}",
            summary="Payments through the API fail for some clients; card payments are not affected.",
            backup_commander=backup,
            affected_tags=["simulation"],
            detected_at=now - dt.timedelta(minutes=self.rng.randint(0, 30)),
        )
        incident = incident_transition(incident=incident, name="activate", actor=commander)
        self.plans[incident.pk] = {"updates": self.rng.randint(2, 12), "done": 0}
        for item in incident.checklist.all():
            if self.rng.random() < 0.85:  # some items are simply forgotten: their overdue alert must fire
                span = item.due_at - incident.detected_at
                self.push(incident.detected_at + span * self.rng.uniform(0.1, 1.2), "complete", incident.pk, item.pk)
        self.schedule_publish(incident.pk, now + MINUTE * self.rng.uniform(2, 8))

    def on_complete(self, incident_id, item_id):
        item = IncidentChecklistItem.objects.select_related("incident__commander").get(pk=item_id)
        if item.is_done or item.incident.is_final:
            return
        checklist_item_complete(item=item, actor=item.incident.commander, note="Simulated.")
        self.counts["completed_items"] += 1

    def on_publish(self, incident_id, payload):
        if self.pending.get(incident_id) != payload["at"]:
            return  # replaced by a takeover
        del self.pending[incident_id]
        incident = Incident.objects.select_related("commander", "backup_commander").get(pk=incident_id)
        if not incident.is_live:
            return
        plan = self.plans[incident_id]
        plan["done"] += 1
        person = incident.backup_commander if payload["by"] == "backup" else incident.commander
        share = plan["done"] / plan["updates"]
        if plan["done"] >= plan["updates"] and incident.state in (State.IDENTIFIED, State.MONITORING):
            incident = incident_transition(
                incident=incident, name="resolve", actor=person, resolution_summary="Simulated fix deployed."
            )
            self.counts["transitions"] += 1
        else:
            for threshold, step in STEPS:
                if share >= threshold and step in {t.name for t in incident.get_available_state_transitions()}:
                    incident = incident_transition(incident=incident, name=step, actor=person)
                    self.counts["transitions"] += 1
                    break
        update = update_publish(update=update_draft(incident=incident, author=person), actor=person)
        self.counts["commander_updates"] += 1
        if update.next_update_due_at is not None:
            self.plan_answer(incident_id, update.next_update_due_at)

    def plan_answer(self, incident_id, due_at):
        """When the commander will publish next, given how they behave this time."""
        behaviour = self.rng.choices([name for name, _ in BEHAVIOURS], [weight for _, weight in BEHAVIOURS])[0]
        now = timezone.now()
        if behaviour == "on_time":
            at = due_at - MINUTE * self.rng.uniform(0.5, 12)
        elif behaviour == "late":
            at = due_at + MINUTE * self.rng.uniform(0.5, 30)
        elif behaviour == "absent":
            at = due_at + MINUTE * self.rng.uniform(20, 150)
        else:
            return  # gone: holding statements and escalations must cover every promise from now on
        self.schedule_publish(incident_id, max(at, now + MINUTE))

    # -- the result ------------------------------------------------------------------------------

    def report(self):
        incidents = list(Incident.objects.filter(organization=self.organization))
        now = timezone.now()
        totals = dict.fromkeys(["kept", "kept_late", "holding", "missed", "open", "stopped", "silent"], 0)
        late_escalated = late_unnoticed = 0
        for adherence in cadence_adherence_for(incidents=incidents, now=now).values():
            for outcome, count in adherence.counts.items():
                totals[outcome] += count
            for row in adherence.rows:
                if row.outcome == "kept_late":
                    if row.escalated:
                        late_escalated += 1
                    else:
                        late_unnoticed += 1
        events = PromiseEvent.objects.filter(incident__organization=self.organization)
        deadline_alerts = DeadlineAlert.objects.filter(item__incident__organization=self.organization)
        overdue_items = IncidentChecklistItem.objects.filter(
            incident__organization=self.organization, due_at__lte=now
        ).exclude(completed_at__lte=F("due_at"))
        silent_deadlines = overdue_items.exclude(deadline_alerts__kind="overdue").count()
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        timers_unrun = DBTaskResult.objects.filter(
            queue_name="timers",
            status=TaskResultStatus.READY,
            run_after__lte=self.end_at,
            enqueued_at__gte=self.start_at,
        ).count()
        words = queued_words_report(organization=self.organization)
        return {
            **totals,
            **words,
            # A late update nobody was alerted about before it came is a silent miss too.
            "silent": totals["silent"] + late_unnoticed,
            "kept_late_escalated": late_escalated,
            "promises": sum(totals.values()),
            "incidents": len(incidents),
            "resolved": sum(1 for incident in incidents if not incident.is_live),
            "commander_updates": self.counts["commander_updates"],
            "holding_statements": events.filter(kind="holding").count(),
            "reminders": events.filter(kind="reminder").count(),
            "escalations": events.filter(kind="escalation").count(),
            "second_escalations": events.filter(kind="second_escalation").count(),
            "timer_runs": self.counts["timer_runs"],
            "timers_written": self.timers_written,
            "timers_unrun": timers_unrun,
            "deadline_items": IncidentChecklistItem.objects.filter(incident__organization=self.organization).count(),
            "deadline_half": deadline_alerts.filter(kind="half", superseded=False).count(),
            "deadline_ninety": deadline_alerts.filter(kind="ninety", superseded=False).count(),
            "deadline_overdue": deadline_alerts.filter(kind="overdue").count(),
            "overdue_items": overdue_items.count(),
            "silent_deadlines": silent_deadlines,
        }


BROKEN_VARIABLE_PROBLEMS = {"unknown_variable", "template_syntax", "empty_variable"}


def queued_words_report(*, organization):
    """Read the words of every client message queued: how many promise a next update without a
    time, and how many carry a broken variable (unknown, unfilled, or template markup), each read
    once per distinct content with its first reader's values and counted per message."""
    from django.db.models import Count

    from comms.models import Message
    from playbooks.updates.preflight import promise_findings, template_findings, text_findings

    messages = Message.objects.filter(organization=organization, contact__isnull=False)
    no_time = broken = checked = 0
    per_content = messages.values("content_id").annotate(count=Count("id"), first=Min("id"))
    for row in per_content:
        message = Message.objects.select_related("content").get(pk=row["first"])
        content = message.content
        text = apply_substitutions(f"{content.subject}\n{content.body}", message.substitutions)
        findings = text_findings(text=text, language=content.language, channel=content.channel, values={})
        problems = {finding.problem for finding in findings}
        checked += row["count"]
        no_time += row["count"] if "no_time" in problems else 0
        broken += row["count"] if problems & BROKEN_VARIABLE_PROBLEMS else 0
    # Unknown variables render as nothing, invisible in the words: read the updates' templates.
    for update in IncidentUpdate.objects.filter(incident__organization=organization, published_at__isnull=False):
        problems = {finding.problem for finding in template_findings(update.texts)}
        if problems & BROKEN_VARIABLE_PROBLEMS:
            broken += messages.filter(source=f"update:{update.pk}").count()
        if promise_findings(update.texts, update.next_update_due_at):
            no_time += messages.filter(source=f"update:{update.pk}").count()
    return {"messages_checked": checked, "promises_without_time": no_time, "broken_variables": broken}


def format_report(report, *, incidents, hours, seed, kept, processes=1):
    promises = report["promises"] or 1

    def line(label, count, note=""):
        return f"  {label:<34}{count:>9,}  {100 * count / promises:5.1f}%{('  ' + note) if note else ''}"

    lines = [
        f"Simulated {incidents:,} incidents over {hours:g} h (seed {seed}) in {report['seconds']:.0f} s"
        + (f" ({processes} processes)" if processes > 1 else "")
        + ("; data kept." if kept else "; nothing kept."),
        (
            f"  {report['commander_updates']:,} updates by commanders, {report['holding_statements']:,} holding "
            f"statements; {report['reminders']:,} reminders, {report['escalations']:,} escalations, "
            f"{report['second_escalations']:,} second escalations; {report['timer_runs']:,} timers run of "
            f"{report['timers_written']:,} written ({report['timers_unrun']} due left unrun); "
            f"{report['resolved']:,} incidents resolved."
        ),
        "",
        f"  {'Promises':<34}{report['promises']:>9,}",
        line("kept on time", report["kept"]),
        line("kept late", report["kept_late"], f"({report['kept_late_escalated']:,} after an escalation)"),
        line("covered by a holding statement", report["holding"]),
        line("escalated, still missed", report["missed"]),
        line("open (not yet due)", report["open"]),
        line("incident ended first", report["stopped"]),
        line("SILENT MISSES", report["silent"]),
        "",
        (
            f"  Words: {report['messages_checked']:,} client messages read; PROMISES WITHOUT A TIME "
            f"{report['promises_without_time']:,}; BROKEN VARIABLES {report['broken_variables']:,}."
        ),
        "",
        (
            f"  Deadlines: {report['deadline_items']:,} checklist items; alerts at 50% {report['deadline_half']:,}, "
            f"at 90% {report['deadline_ninety']:,}, overdue {report['deadline_overdue']:,} "
            f"({report['overdue_items']:,} items passed their deadline undone); silent deadline misses "
            f"{report['silent_deadlines']:,}."
        ),
    ]
    return "\n".join(lines)
