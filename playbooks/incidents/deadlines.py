"""Deadline arithmetic (hours, or business days in the organisation's country and timezone), and
where a checklist deadline stands at a moment: the countdown the console shows."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

import holidays


def public_holidays(country, years):
    try:
        return holidays.country_holidays(country, years=years)
    except NotImplementedError:
        return {}


def add_business_days(*, start, business_days, country, timezone_name):
    """The moment `business_days` working days after `start`, at the same local time of day.

    Weekends and the country's public holidays do not count. A start on a non-working day
    counts from the next working day's beginning of the same local time.
    """
    tz = zoneinfo.ZoneInfo(timezone_name or "UTC")
    local = start.astimezone(tz)
    day = local.date()
    days_off = public_holidays(country, years=range(day.year, day.year + 2))
    remaining = business_days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in days_off:
            remaining -= 1
    naive = dt.datetime.combine(day, local.timetz().replace(tzinfo=None))
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)


def checklist_due_at(*, detected_at, due_after_hours, due_after_business_days, country, timezone_name):
    if due_after_hours is not None:
        return detected_at + dt.timedelta(hours=due_after_hours)
    if due_after_business_days is not None:
        return add_business_days(
            start=detected_at, business_days=due_after_business_days, country=country, timezone_name=timezone_name
        )
    return None


# ---------------------------------------------------------------------------------------------
# Deadline clocks: when to remind, and where a checklist item stands now (for countdowns)

# From this fraction of the time between detection and the deadline, an item is "due soon".
DUE_SOON_FRACTION = 0.9


def moment_at_fraction(*, start, due_at, fraction):
    """The moment `fraction` of the way from `start` to `due_at` (wall-clock time)."""
    return start + (due_at - start) * fraction


@dataclass(frozen=True)
class DeadlineStatus:
    """Where a checklist item's deadline stands at one moment.

    state: "no_deadline", "ok", "due_soon" (90% of the time gone), "overdue", "done" (on time)
    or "done_late". `remaining` is negative once overdue; None without a deadline or when done.
    """

    state: str
    due_at: dt.datetime | None
    remaining: dt.timedelta | None
    fraction_elapsed: float | None
    completed_at: dt.datetime | None = None


def deadline_status(*, item, now):
    """The countdown of one incident checklist item at `now` (counted from the incident's detection)."""
    due_at = item.due_at
    if item.completed_at is not None:
        late = due_at is not None and item.completed_at > due_at
        return DeadlineStatus("done_late" if late else "done", due_at, None, None, item.completed_at)
    if due_at is None:
        return DeadlineStatus("no_deadline", None, None, None)
    start = item.incident.detected_at
    total = (due_at - start).total_seconds()
    elapsed = (now - start).total_seconds()
    fraction = 1.0 if total <= 0 else max(0.0, elapsed / total)
    remaining = due_at - now
    if now >= due_at:
        state = "overdue"
    elif fraction >= DUE_SOON_FRACTION:
        state = "due_soon"
    else:
        state = "ok"
    return DeadlineStatus(state, due_at, remaining, round(fraction, 4))


def deadline_statuses(*, incident, now):
    """[(item, DeadlineStatus)] for every checklist item of an incident, in checklist order."""
    return [(item, deadline_status(item=item, now=now)) for item in incident.checklist.select_related("incident")]
