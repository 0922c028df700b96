"""Reads of follow-ups shared by the follow-up list and the leadership pages."""

from playbooks.debriefs import services as debriefs


def follow_up_rows(*, user, follow_ups, now):
    """Each follow-up with whether this user may close it and whether it is overdue now."""
    return [
        {
            "follow_up": follow_up,
            "can_close": follow_up.is_open and debriefs.can_close_follow_up(user, follow_up),
            "overdue": follow_up.is_overdue_at(now),
        }
        for follow_up in follow_ups
    ]
