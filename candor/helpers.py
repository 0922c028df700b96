"""Small helpers that know nothing of the domain, written once: enqueueing a task with the caller's
transaction, durations in words, CSV cells, the headers of pages reached by signed links, a user's
display name. accounts, comms and playbooks all import them; this module imports none of them."""

import csv
import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

DATABASE_TASK_BACKEND = "django_tasks_db.DatabaseBackend"


def enqueue_task(task, *, run_after=None, **kwargs):
    """Enqueue `task(**kwargs)` so that it exists exactly when the caller's transaction commits.

    The database backend writes the task row inside the caller's transaction, so a rollback
    schedules nothing. Other backends (RQ) are sent the task after commit; if the process dies in
    between, the sweeps find the work by what the rows say is due. `run_after` is an aware
    datetime.
    """
    if run_after is not None:
        task = task.using(run_after=run_after)
    if settings.TASKS["default"]["BACKEND"] == DATABASE_TASK_BACKEND:
        task.enqueue(**kwargs)
    else:
        transaction.on_commit(lambda: task.enqueue(**kwargs))


def duration_words(delta_or_seconds):
    """A duration in words with its two largest units, in the active language: "45 s", "3 min 20 s",
    "2 h 5 min", "36 h", "3 days 4 h" in English. Hours run up to 48 before counting days. None is
    "—"; negatives count as 0. Words stored for everyone (timeline notes) are English: call it
    under `translation.override("en")`."""
    if delta_or_seconds is None:
        return "—"
    if isinstance(delta_or_seconds, dt.timedelta):
        delta_or_seconds = delta_or_seconds.total_seconds()
    seconds = max(0, int(delta_or_seconds))
    if seconds < 60:
        return _("%(seconds)s s") % {"seconds": seconds}
    minutes, second = divmod(seconds, 60)
    if minutes < 60:
        if second:
            return _("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": second}
        return _("%(minutes)s min") % {"minutes": minutes}
    hours, minute = divmod(minutes, 60)
    if hours < 48:
        if minute:
            return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minute}
        return _("%(hours)s h") % {"hours": hours}
    days, hour = divmod(hours, 24)
    if hour:
        return ngettext("%(days)s day %(hours)s h", "%(days)s days %(hours)s h", days) % {"days": days, "hours": hour}
    return ngettext("%(days)s day", "%(days)s days", days) % {"days": days}


def csv_cell(value):
    """Spreadsheets run cells starting with = + - @ as formulas: make words inert, keep numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def csv_cell_read(value):
    """The value a cell written by csv_cell stood for: the import reads our own exports back unchanged."""
    if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@", "\t", "\r") and csv_cell(value[1:]) == value:
        return value[1:]
    return value


class _FormulaSafeWriter:
    def __init__(self, stream, **options):
        self._writer = csv.writer(stream, **options)

    def writerow(self, row):
        return self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_writer(stream, **options):
    """csv.writer whose every cell goes through csv_cell: the one way Candor writes CSV."""
    return _FormulaSafeWriter(stream, **options)


def private_link_headers(response, *, etag=None, language=None):
    """Headers for a page reached by a signed link, which is a secret: never in shared caches, out
    of other sites' Referer headers and out of search engines.

    With an `etag` the page may be kept privately but is revalidated every time (a new update must
    show at once); without one it is not stored at all. `language` is the reader's, not the
    browser's. The referrer policy is "same-origin", not "no-referrer": Chromium would then post
    our own forms with `Origin: null`, which CSRF refuses.
    """
    if etag:
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
    else:
        response["Cache-Control"] = "private, no-store"
    if language:
        response["Content-Language"] = language
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def display_name(user):
    """What people call a user: their full name, else their username."""
    return user.get_full_name() or user.username
