"""What the incident page offers first, so that no state is a dead end: the next useful step for
this user, and the incident's transitions in the order a commander under stress needs them."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from playbooks.models import RESOLUTION_NOTICE_STATES, State

# Steps that go back or give up come after the ones that move the incident forward.
BACKWARD_TRANSITIONS = {"reopen"}
GIVING_UP_TRANSITIONS = {"cancel"}


@dataclass(frozen=True)
class NextStep:
    label: str
    url: str
    help: str = ""
    method: str = "get"  # "post": a button that posts to url (drafting an update)
    is_primary: bool = False


def transitions_ordered(transitions):
    """Forward steps first, then "problem is back", "cancel" last. `transitions` are (transition,
    form) pairs or transitions."""

    def rank(entry):
        name = (entry[0] if isinstance(entry, tuple) else entry).name
        return 2 if name in GIVING_UP_TRANSITIONS else 1 if name in BACKWARD_TRANSITIONS else 0

    return sorted(transitions, key=rank)


def next_steps(*, incident, user, updates):
    """The links and buttons worth offering before the transitions, most urgent first. `updates`
    are the incident's updates (newest first)."""
    steps = []
    pending = [update for update in updates if not update.is_published]
    for update in pending[:3]:
        if update.needs_approval and not update.is_approved:
            if user.can_run_incidents_of(incident.organization_id) and update.author_id != user.pk:
                steps.append(
                    NextStep(
                        _("Approve update #%(number)s") % {"number": update.pk},
                        reverse("update_detail", args=[update.pk]),
                        _("It waits for a second commander's approval."),
                        is_primary=True,
                    )
                )
            else:
                steps.append(
                    NextStep(
                        _("Update #%(number)s waits for approval") % {"number": update.pk},
                        reverse("update_detail", args=[update.pk]),
                        _("The commanders were told; it cannot be published before."),
                    )
                )
        elif user.can_run_incidents_of(incident.organization_id):
            steps.append(
                NextStep(
                    _("Publish update #%(number)s") % {"number": update.pk},
                    reverse("update_detail", args=[update.pk]),
                    _("Drafted and ready: check the preview and publish."),
                    is_primary=True,
                )
            )
    if incident.state in RESOLUTION_NOTICE_STATES and user.can_draft_updates and not pending:
        told = any(update.is_published and update.stage == incident.state for update in updates)
        if not told:
            steps.append(
                NextStep(
                    _("Send the final notice"),
                    reverse("update_new", args=[incident.pk]),
                    _("Tell the clients it is over before starting the debrief."),
                    method="post",
                    is_primary=True,
                )
            )
    if incident.state in (State.DEBRIEFING, State.CLOSED):
        if incident.state == State.DEBRIEFING:
            steps.append(
                NextStep(
                    _("Write the debrief"),
                    reverse("debrief", args=[incident.pk]),
                    _(
                        "What happened, what went well and what did not, with action items. "
                        "The incident closes once it is complete."
                    ),
                    is_primary=user.can_draft_updates,
                )
            )
        else:
            steps.append(NextStep(_("Read the debrief"), reverse("debrief", args=[incident.pk])))
        steps.append(
            NextStep(
                _("Review: what we did and what clients felt"),
                reverse("incident_review", args=[incident.pk]),
                is_primary=not user.can_draft_updates,
            )
        )
        steps.append(NextStep(_("Proof of notification"), reverse("incident_proof", args=[incident.pk])))
        steps.append(NextStep(_("Follow-ups"), reverse("follow_up_list")))
    # One primary action: the first.
    first_primary = next((step for step in steps if step.is_primary), None)
    return [
        step if step is first_primary or not step.is_primary else NextStep(**{**step.__dict__, "is_primary": False})
        for step in steps
    ]
