"""Deadline arithmetic: hours, or business days in the organisation's country and timezone."""
import datetime as dt
import zoneinfo

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
    return naive.replace(tzinfo=tz).astimezone(dt.timezone.utc)


def checklist_due_at(*, detected_at, due_after_hours, due_after_business_days, country, timezone_name):
    if due_after_hours is not None:
        return detected_at + dt.timedelta(hours=due_after_hours)
    if due_after_business_days is not None:
        return add_business_days(
            start=detected_at, business_days=due_after_business_days, country=country, timezone_name=timezone_name
        )
    return None
