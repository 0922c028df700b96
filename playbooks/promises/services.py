"""Kept promises: every published update promises the next one, and that time is never silently missed.

How it works:
- `update_publish` calls `promise_timers_schedule` in its transaction: two durable timers (tasks
  with `run_after` on the "timers" queue), one at the reminder time and one at the promised time.
- A timer calls `promise_check`, which re-reads the database and does what is due *now*: remind
  the commander and backup; at the promised time publish the stage's holding statement (when the
  playbook allows it) or escalate to the commander and backup; after a grace period escalate to the
  backup and leadership. A newer update, or an incident no longer live, makes it do nothing.
  Timers are never cancelled.
- Each action is recorded once (PromiseEvent, DeadlineAlert: unique per promise and kind), so a
  timer that runs twice acts once. `timers_sweep` performs whatever a lost timer left undone.
- Checklist deadlines get the same treatment from activation: alerts at 50% and 90% of the time
  from detection, and an escalation when overdue.
- `cadence_adherence` tells, from the updates and these records, how each promise ended.
"""

import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Role, User
from candor.helpers import display_name, duration_words, enqueue_task
from comms.notifications import TeamNoticeWords, team_notify
from comms.rendering import format_local_time
from playbooks.incidents.deadlines import moment_at_fraction
from playbooks.incidents.services import timeline_record
from playbooks.incidents.topics import incident_topic
from playbooks.integrations import events as webhook_events
from playbooks.integrations.services import incident_webhook_emit, team_channel_scopes
from playbooks.models import (
    DEADLINE_ALERT_FRACTIONS,
    FINAL_STATES,
    LIVE_STATES,
    DeadlineAlert,
    DeadlineAlertKind,
    Incident,
    IncidentChecklistItem,
    IncidentUpdate,
    PromiseEvent,
    PromiseEventKind,
    TimelineKind,
)

logger = logging.getLogger("candor.cadence")


def reminder_before():
    return dt.timedelta(minutes=settings.CANDOR_REMINDER_BEFORE_MINUTES)


def escalation_grace():
    return dt.timedelta(minutes=settings.CANDOR_ESCALATION_GRACE_MINUTES)


# ---------------------------------------------------------------------------------------------
# Timers


def promise_timers_schedule(*, update):
    """Timers for the promise a just-published update made: the reminder and the promised time.

    Call inside the publishing transaction. A promise too close for a reminder gets none.
    """
    from playbooks.promises.tasks import promise_timer

    due_at = update.next_update_due_at
    if due_at is None:
        return  # a resolution notice promises nothing
    remind_at = due_at - reminder_before()
    if remind_at > update.published_at:
        enqueue_task(promise_timer, run_after=remind_at, update_id=update.pk)
    enqueue_task(promise_timer, run_after=due_at, update_id=update.pk)


def deadline_clocks_schedule(*, incident):
    """Timers for every open checklist deadline of a just-activated incident: 50%, 90%, due."""
    from playbooks.promises.tasks import deadline_timer

    for item in incident.checklist.filter(completed_at__isnull=True, due_at__isnull=False):
        for fraction in sorted(set(DEADLINE_ALERT_FRACTIONS.values())):
            run_after = moment_at_fraction(start=incident.detected_at, due_at=item.due_at, fraction=fraction)
            enqueue_task(deadline_timer, run_after=run_after, item_id=item.pk)


# ---------------------------------------------------------------------------------------------
# Who hears about it


def incident_url(incident):
    try:
        path = reverse("incident_detail", args=[incident.pk])
    except NoReverseMatch:
        path = f"/incidents/{incident.pk}/"
    return f"{settings.CANDOR_PUBLIC_URL}{path}"


def commander_and_backup(incident):
    return [user for user in (incident.commander, incident.backup_commander) if user is not None]


def leadership_of(organization):
    return list(User.objects.filter(organization=organization, role=Role.LEADERSHIP, is_active=True).order_by("id"))


def _second_line(incident):
    """The backup and leadership; failing those, the admins; failing all, the commander again."""
    people = [user for user in [incident.backup_commander, *leadership_of(incident.organization)] if user]
    if not people:
        people = list(User.objects.filter(organization=incident.organization, role=Role.ADMIN, is_active=True))
    return _unique(people or [incident.commander])


def _unique(users):
    seen, result = set(), []
    for user in users:
        if user is not None and user.pk not in seen and user.is_active:
            seen.add(user.pk)
            result.append(user)
    return result


def _names(users):
    return ", ".join(display_name(user) for user in users) or "nobody"


def _local(incident, moment):
    return format_local_time(moment, language="en", timezone_name=incident.organization.timezone)


def local_time(moment, *, language, timezone_name):
    """A time as a team notice's reader reads it: their language, their timezone."""
    return format_local_time(moment, language=language, timezone_name=timezone_name)


def incident_team_notify(*, incident, source, words=None, subject="", body="", users=None, action=""):
    """Alert the incident's team (by default the commander and backup) by email and SMS, and in
    the team channels (Slack, Teams) of the organisation and of the incident's playbook.

    `words(language=..., timezone_name=...)` says the notice for one language and timezone as a
    comms.notifications.TeamNoticeWords, with gettext (each member reads their own language and
    timezone); or fixed `subject`, `body` and `action` (what to do now) for everyone."""
    if words is None:
        fixed = TeamNoticeWords(subject=subject, body=body, action=action)

        def words(*, language, timezone_name):
            return fixed

    _notify(incident, _unique(users if users is not None else commander_and_backup(incident)), source, words)


def _notify(incident, users, source, words):
    def framed(*, language, timezone_name):
        said = words(language=language, timezone_name=timezone_name)
        return TeamNoticeWords(
            subject=f"[{incident.organization.name}] {said.subject}",
            body=f"{said.body}\n\n"
            + _("Incident #%(number)s: %(title)s") % {"number": incident.pk, "title": incident.title},
            action=said.action,
        )

    team_notify(
        organization=incident.organization,
        users=users,
        topic=incident_topic(incident),
        source=source,
        words=framed,
        link=incident_url(incident),
        scopes=team_channel_scopes(incident),
    )


# ---------------------------------------------------------------------------------------------
# Promises


class Action:
    STALE = "stale"  # a newer update was published, or the incident is no longer live
    NOTHING = "nothing"  # nothing due now, or already done
    REMINDER = PromiseEventKind.REMINDER.value
    HOLDING = PromiseEventKind.HOLDING.value
    ESCALATION = PromiseEventKind.ESCALATION.value
    SECOND_ESCALATION = PromiseEventKind.SECOND_ESCALATION.value


def newer_update_exists(update):
    return IncidentUpdate.objects.filter(
        Q(published_at__gt=update.published_at) | Q(published_at=update.published_at, pk__gt=update.pk),
        incident_id=update.incident_id,
    ).exists()


def promise_check(*, update, now):
    """Do what the promise of a published update needs at `now`, once. Returns what was done.

    Safe to call any number of times, from a timer or the sweep: it re-reads the database, does
    nothing when a newer update was published or the incident is no longer live, and records each
    action under a unique constraint before it counts.
    """
    if update.published_at is not None and newer_update_exists(update):
        return Action.STALE  # the usual case, answered without taking the incident's lock
    try:
        with transaction.atomic():
            incident = (
                Incident.objects.select_for_update(of=("self",))
                .select_related("organization", "commander", "backup_commander")
                .get(pk=update.incident_id)
            )
            update = IncidentUpdate.objects.get(pk=update.pk)
            due_at = update.next_update_due_at
            if update.published_at is None or due_at is None:
                return Action.NOTHING
            if not incident.is_live or newer_update_exists(update):
                return Action.STALE
            done = {event.kind: event for event in update.promise_events.all()}
            if now >= due_at:
                if Action.HOLDING in done:
                    return Action.NOTHING  # the holding statement's own timers carry on
                if Action.ESCALATION not in done:
                    return _act_when_due(incident, update, now)
                if Action.SECOND_ESCALATION not in done and now >= done[Action.ESCALATION].at + escalation_grace():
                    return _escalate_again(incident, update, done[Action.ESCALATION], now)
                return Action.NOTHING
            if now >= due_at - reminder_before() and Action.REMINDER not in done:
                return _remind(incident, update, now)
            return Action.NOTHING
    except IntegrityError:
        # Another run recorded the same action first; ours rolled back entirely.
        return Action.NOTHING


def _record(incident, update, kind, now, users, note, *, timeline_kind, holding_update=None, **extra):
    """What a promise timer did, once: the PromiseEvent row and its timeline entry."""
    notified = [user.pk for user in users]
    event = PromiseEvent.objects.create(
        update=update,
        incident=incident,
        kind=kind,
        at=now,
        holding_update=holding_update,
        notified=notified,
        note=note,
    )
    data = {"update": update.pk, "promise": kind}
    if holding_update is not None:
        data["holding_update"] = holding_update.pk
    data.update({"due_at": update.next_update_due_at.isoformat(), "notified": notified, **extra})
    timeline_record(incident=incident, kind=timeline_kind, note=note, at=now, data=data)
    return event


def _remind(incident, update, now):
    users = _unique(commander_and_backup(incident))
    due_local = _local(incident, update.next_update_due_at)
    minutes = max(1, round((update.next_update_due_at - now).total_seconds() / 60))
    auto_holding = incident.stage_plan().get("auto_holding_statement")
    note = f"Reminder to {_names(users)}: the next update is promised for {due_local} (in {minutes} min)."
    _record(incident, update, Action.REMINDER, now, users, note, timeline_kind=TimelineKind.REMINDER)

    def words(*, language, timezone_name):
        due = local_time(update.next_update_due_at, language=language, timezone_name=timezone_name)
        if auto_holding:
            consequence = _("If nothing is published by then, Candor publishes the stage's holding statement.")
        else:
            consequence = _("If nothing is published by then, Candor alerts the commander and backup, then leadership.")
        return TeamNoticeWords(
            subject=_("Update due in %(minutes)s min: %(title)s") % {"minutes": minutes, "title": incident.title},
            body=_("Clients were promised the next update by %(due)s.") % {"due": due} + " " + consequence,
            action=_("Publish the next update before %(due)s.") % {"due": due},
        )

    _notify(incident, users, f"promise:{update.pk}:reminder", words)
    return Action.REMINDER


def _act_when_due(incident, update, now):
    problem = ""
    if incident.stage_plan().get("auto_holding_statement"):
        try:
            with transaction.atomic():
                holding = _publish_holding_statement(incident)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
            logger.warning("Holding statement for incident %s failed: %s", incident.pk, problem)
        else:
            return _after_holding_statement(incident, update, holding, now)
    return _escalate(incident, update, now, problem)


def _publish_holding_statement(incident):
    from playbooks.updates.services import update_draft, update_publish

    holding = update_draft(incident=incident, author=None, is_holding_statement=True)
    return update_publish(update=holding, actor=None)


def consecutive_holding_statements(incident):
    """How many automatic holding statements were published in a row, most recent first."""
    count = 0
    recent = (
        IncidentUpdate.objects.filter(incident=incident, published_at__isnull=False)
        .order_by("-published_at", "-pk")
        .values_list("is_holding_statement", "published_by_id")[:50]
    )
    for is_holding, published_by in recent:
        if not (is_holding and published_by is None):
            break
        count += 1
    return count


def _after_holding_statement(incident, update, holding, now):
    users = _unique(commander_and_backup(incident))
    in_a_row = consecutive_holding_statements(incident)
    if in_a_row >= settings.CANDOR_HOLDING_STATEMENTS_BEFORE_LEADERSHIP:
        users = _unique(users + leadership_of(incident.organization))
    due_local = _local(incident, update.next_update_due_at)
    next_local = _local(incident, holding.next_update_due_at)
    reached = holding.audience.get("email", 0) + holding.audience.get("sms", 0)
    note = (
        f"No update by {due_local}: the holding statement (#{holding.pk}) went out in its place "
        f"and promises the next update by {next_local}. Told {_names(users)}."
    )
    if in_a_row > 1:
        note += f" That is {in_a_row} holding statements in a row."
    _record(
        incident,
        update,
        Action.HOLDING,
        now,
        users,
        note,
        holding_update=holding,
        timeline_kind=TimelineKind.NOTE,
        in_a_row=in_a_row,
    )

    def words(*, language, timezone_name):
        due = local_time(update.next_update_due_at, language=language, timezone_name=timezone_name)
        next_due = local_time(holding.next_update_due_at, language=language, timezone_name=timezone_name)
        body = _(
            "No update was published by %(due)s, so Candor sent the stage's holding statement "
            "(%(messages)s messages). It promises the next update by %(next_due)s: publish a real update "
            "before then."
        ) % {"due": due, "messages": reached, "next_due": next_due}
        if in_a_row > 1:
            body += " " + _("%(count)s holding statements in a row: nobody has told clients anything new.") % {
                "count": in_a_row
            }
        return TeamNoticeWords(
            subject=_("Holding statement sent: %(title)s") % {"title": incident.title},
            body=body,
            action=_("Publish a real update before %(due)s.") % {"due": next_due},
        )

    _notify(incident, users, f"promise:{update.pk}:holding", words)
    return Action.HOLDING


def _escalate(incident, update, now, problem=""):
    from playbooks.promises.tasks import promise_timer

    users = _unique(commander_and_backup(incident))
    due_local = _local(incident, update.next_update_due_at)
    grace = settings.CANDOR_ESCALATION_GRACE_MINUTES
    note = f"No update by the promised {due_local}: escalated to {_names(users)}."
    if problem:
        note += f" The holding statement could not be published: {problem}"
    _record(
        incident, update, Action.ESCALATION, now, users, note, timeline_kind=TimelineKind.ESCALATION, problem=problem
    )

    def words(*, language, timezone_name):
        due = local_time(update.next_update_due_at, language=language, timezone_name=timezone_name)
        body = _(
            "Clients were promised an update by %(due)s and none has been published. Publish one now. "
            "If nothing is published within %(minutes)s minutes, the backup and leadership are alerted."
        ) % {"due": due, "minutes": grace}
        if problem:
            body += " " + _("(The holding statement could not be sent: %(problem)s)") % {"problem": problem}
        return TeamNoticeWords(
            subject=_("Update overdue: %(title)s") % {"title": incident.title},
            body=body,
            action=_("Publish an update now."),
        )

    _notify(incident, users, f"promise:{update.pk}:escalation", words)
    incident_webhook_emit(
        incident=incident,
        event_type=webhook_events.PROMISE_MISSED,
        source=f"promise:{update.pk}:missed",
        data={
            "update": {"id": update.pk, "next_update_due_at": update.next_update_due_at.isoformat()},
            "escalated_to": [display_name(user) for user in users],
            "holding_statement_problem": problem,
        },
        at=now,
    )
    enqueue_task(promise_timer, run_after=now + escalation_grace(), update_id=update.pk)
    return Action.ESCALATION


def _escalate_again(incident, update, escalation, now):
    users = _second_line(incident)
    due_local = _local(incident, update.next_update_due_at)
    note = (
        f"Still no update {settings.CANDOR_ESCALATION_GRACE_MINUTES} min after the escalation "
        f"(promised for {due_local}): escalated to {_names(users)}."
    )
    _record(incident, update, Action.SECOND_ESCALATION, now, users, note, timeline_kind=TimelineKind.ESCALATION)

    def words(*, language, timezone_name):
        return TeamNoticeWords(
            subject=_("Still no update: %(title)s") % {"title": incident.title},
            body=_(
                "Clients were promised an update by %(due)s. The commander (%(commander)s) was alerted at "
                "%(alerted)s and nothing has been published since. Make sure someone publishes an update now."
            )
            % {
                "due": local_time(update.next_update_due_at, language=language, timezone_name=timezone_name),
                "commander": _names([incident.commander]),
                "alerted": local_time(escalation.at, language=language, timezone_name=timezone_name),
            },
            action=_("Make sure someone publishes an update now."),
        )

    _notify(incident, users, f"promise:{update.pk}:second_escalation", words)
    return Action.SECOND_ESCALATION


# ---------------------------------------------------------------------------------------------
# Deadlines

DEADLINE_ORDER = [DeadlineAlertKind.HALF, DeadlineAlertKind.NINETY, DeadlineAlertKind.OVERDUE]


def deadline_alerts_due(*, item, detected_at, now):
    """The alert kinds whose moment has passed at `now`, in order."""
    return [
        kind
        for kind in DEADLINE_ORDER
        if now >= moment_at_fraction(start=detected_at, due_at=item.due_at, fraction=DEADLINE_ALERT_FRACTIONS[kind])
    ]


def deadline_check(*, item, now):
    """Alert about a checklist deadline once per stage (50%, 90%, overdue). Returns what was done.

    Only the latest stage reached is announced; earlier ones not yet recorded are marked
    superseded. Nothing happens once the item is done or the incident is closed or cancelled.
    """
    if item.is_done:
        return Action.STALE  # answered without taking the incident's lock
    try:
        with transaction.atomic():
            incident = (
                Incident.objects.select_for_update(of=("self",))
                .select_related("organization", "commander", "backup_commander")
                .get(pk=item.incident_id)
            )
            item = IncidentChecklistItem.objects.get(pk=item.pk)
            if item.is_done or item.due_at is None or incident.state in FINAL_STATES or incident.activated_at is None:
                return Action.STALE
            reached = deadline_alerts_due(item=item, detected_at=incident.detected_at, now=now)
            if not reached:
                return Action.NOTHING
            existing = set(item.deadline_alerts.values_list("kind", flat=True))
            latest = reached[-1]
            if latest in existing:
                return Action.NOTHING
            for kind in reached[:-1]:
                if kind not in existing:
                    DeadlineAlert.objects.create(item=item, kind=kind, at=now, superseded=True)
            users = _unique(commander_and_backup(incident))
            if latest == DeadlineAlertKind.OVERDUE:
                users = _unique(users + leadership_of(incident.organization))
            DeadlineAlert.objects.create(item=item, kind=latest, at=now, notified=[user.pk for user in users])
            _announce_deadline(incident, item, latest, users, now)
            return latest
    except IntegrityError:
        return Action.NOTHING


def _announce_deadline(incident, item, kind, users, now):
    due_local = _local(incident, item.due_at)
    if kind == DeadlineAlertKind.OVERDUE:
        note = f"Overdue since {due_local}: {item.title}. Escalated to {_names(users)}."
    else:
        with translation.override("en"):  # the timeline's notes are English
            left_in_english = duration_words(item.due_at - now)
        note = f"{left_in_english} left until {due_local}: {item.title}. Reminded {_names(users)}."

    def words(*, language, timezone_name):
        due = local_time(item.due_at, language=language, timezone_name=timezone_name)
        left = duration_words(item.due_at - now)  # called under the reader's language
        values = {"title": item.title, "due": due, "left": left, "names": _names(users)}
        if kind == DeadlineAlertKind.OVERDUE:
            subject = _("Deadline missed: %(title)s") % values
            body = _("Overdue since %(due)s: %(title)s. Escalated to %(names)s.") % values
        else:
            subject = _("Deadline in %(left)s: %(title)s") % values
            body = _("%(left)s left until %(due)s: %(title)s. Reminded %(names)s.") % values
        body += (
            (f"\n\n{item.guidance}" if item.guidance else "") + "\n" + _("Mark it done in the checklist when it is.")
        )
        return TeamNoticeWords(
            subject=subject, body=body, action=_("Complete the checklist item: %(title)s.") % {"title": item.title}
        )

    _notify(incident, users, f"deadline:{item.pk}:{kind}", words)
    if kind == DeadlineAlertKind.OVERDUE:
        incident_webhook_emit(
            incident=incident,
            event_type=webhook_events.DEADLINE_DUE,
            source=f"deadline:{item.pk}:overdue",
            data={"checklist_item": {"id": item.pk, "title": item.title, "due_at": item.due_at.isoformat()}},
            at=now,
        )
    timeline_record(
        incident=incident,
        kind=TimelineKind.ESCALATION if kind == DeadlineAlertKind.OVERDUE else TimelineKind.REMINDER,
        note=note,
        at=now,
        data={
            "checklist_item": item.pk,
            "deadline": kind,
            "due_at": item.due_at.isoformat(),
            "notified": [user.pk for user in users],
        },
    )


# ---------------------------------------------------------------------------------------------
# The sweep: what a lost timer left undone


def timers_sweep(*, now):
    """Perform the promise and deadline actions whose moment passed without them.

    django-tasks has no periodic tasks, and a worker killed mid-task leaves its timer RUNNING
    forever: this finds the work by what the database says is due, not by the task rows. Only
    what is late by more than CANDOR_TIMERS_SWEEP_GRACE_SECONDS is taken, so the timers do the
    work in the normal case. Returns the counts of what was done.
    """
    late = now - dt.timedelta(seconds=settings.CANDOR_TIMERS_SWEEP_GRACE_SECONDS)
    done = Counter()
    candidates = Incident.objects.filter(
        state__in=LIVE_STATES, next_update_due_at__isnull=False, next_update_due_at__lte=late + reminder_before()
    ).values_list("pk", flat=True)
    for incident_id in candidates:
        latest = (
            IncidentUpdate.objects.filter(incident_id=incident_id, published_at__isnull=False)
            .order_by("-published_at", "-pk")
            .first()
        )
        if latest is None or latest.next_update_due_at is None:
            continue
        if _promise_action_missing(latest, late):
            done[promise_check(update=latest, now=now)] += 1
    items = (
        IncidentChecklistItem.objects.filter(
            completed_at__isnull=True, due_at__isnull=False, incident__activated_at__isnull=False
        )
        .exclude(incident__state__in=FINAL_STATES)
        .select_related("incident")
    )
    recorded = defaultdict(set)
    for item_id, kind in DeadlineAlert.objects.filter(item__in=items).values_list("item_id", "kind"):
        recorded[item_id].add(kind)
    for item in items:
        reached = deadline_alerts_due(item=item, detected_at=item.incident.detected_at, now=late)
        if reached and reached[-1] not in recorded[item.pk]:
            done[deadline_check(item=item, now=now)] += 1
    done.pop(Action.NOTHING, None)
    done.pop(Action.STALE, None)
    return dict(done)


def _promise_action_missing(update, late):
    kinds = set(update.promise_events.values_list("kind", flat=True))
    due_at = update.next_update_due_at
    if late >= due_at:
        if kinds & {Action.HOLDING, Action.SECOND_ESCALATION}:
            return False
        if Action.ESCALATION not in kinds:
            return True
        escalated_at = update.promise_events.get(kind=Action.ESCALATION).at
        return late >= escalated_at + escalation_grace()
    remind_at = due_at - reminder_before()
    return late >= remind_at > update.published_at and Action.REMINDER not in kinds


# ---------------------------------------------------------------------------------------------
# Adherence: how each promise ended


class Outcome:
    KEPT = "kept"  # the next update came by the promised time
    KEPT_LATE = "kept_late"  # it came, late (the row says whether the team was alerted first)
    HOLDING = "holding"  # covered by the automatic holding statement
    MISSED = "missed"  # escalated, and nothing published yet
    OPEN = "open"  # not due yet (or due moments ago, the timer about to act)
    STOPPED = "stopped"  # the incident ended before the promised time
    SILENT = "silent"  # due time passed with no update, holding statement or escalation: must be 0

    ALL = ["kept", "kept_late", "holding", "missed", "open", "stopped", "silent"]


@dataclass
class PromiseRow:
    update_id: int
    published_at: dt.datetime
    due_at: dt.datetime
    is_holding_statement: bool
    outcome: str
    next_update_id: int | None = None
    next_published_at: dt.datetime | None = None
    late_by_seconds: int | None = None
    reminded: bool = False
    escalated: bool = False
    second_escalated: bool = False


@dataclass
class Adherence:
    """How an incident's promises ended: counts per outcome and one row per promise."""

    counts: dict = field(default_factory=lambda: dict.fromkeys(Outcome.ALL, 0))
    rows: list = field(default_factory=list)

    @property
    def promises(self):
        return len(self.rows)


def _ended_at(incident):
    if incident.is_live:
        return None
    return incident.resolved_at or incident.closed_at or incident.cancelled_at or incident.activated_at


def cadence_adherence_for(*, incidents, now=None):
    """{incident id: Adherence} for many incidents in three queries."""
    now = now or timezone.now()
    incidents = {incident.pk: incident for incident in incidents}
    lag = dt.timedelta(seconds=settings.CANDOR_TIMERS_SWEEP_GRACE_SECONDS)
    updates = defaultdict(list)
    for update in (
        IncidentUpdate.objects.filter(incident_id__in=list(incidents), published_at__lte=now)
        .only("id", "incident_id", "published_at", "next_update_due_at", "is_holding_statement")
        .order_by("published_at", "pk")
    ):
        updates[update.incident_id].append(update)
    events = defaultdict(set)
    happened = PromiseEvent.objects.filter(incident_id__in=list(incidents), at__lte=now)
    for update_id, kind in happened.values_list("update_id", "kind"):
        events[update_id].add(kind)
    result = {}
    for incident_id, incident in incidents.items():
        adherence = Adherence()
        published = updates[incident_id]
        ended_at = _ended_at(incident)
        for position, update in enumerate(published):
            due_at = update.next_update_due_at
            if due_at is None:
                continue
            kinds = events[update.pk]
            following = published[position + 1] if position + 1 < len(published) else None
            row = PromiseRow(
                update_id=update.pk,
                published_at=update.published_at,
                due_at=due_at,
                is_holding_statement=update.is_holding_statement,
                outcome=Outcome.OPEN,
                reminded=Action.REMINDER in kinds,
                escalated=Action.ESCALATION in kinds,
                second_escalated=Action.SECOND_ESCALATION in kinds,
            )
            if following is not None:
                row.next_update_id = following.pk
                row.next_published_at = following.published_at
            if Action.HOLDING in kinds:
                row.outcome = Outcome.HOLDING
            elif following is not None:
                late = (following.published_at - due_at).total_seconds()
                row.outcome = Outcome.KEPT if late <= 0 else Outcome.KEPT_LATE
                row.late_by_seconds = max(0, int(late))
            elif row.escalated:
                row.outcome = Outcome.MISSED
            elif ended_at is not None:
                row.outcome = Outcome.STOPPED if ended_at < due_at else Outcome.SILENT
            elif due_at > now - lag:
                row.outcome = Outcome.OPEN
            else:
                row.outcome = Outcome.SILENT
            adherence.counts[row.outcome] += 1
            adherence.rows.append(row)
        result[incident_id] = adherence
    return result


def cadence_adherence(*, incident, now=None):
    """How each promise of one incident ended: counts per outcome and a row per promise."""
    return cadence_adherence_for(incidents=[incident], now=now)[incident.pk]
