"""The catalogue of webhook events: their names are a public contract (docs/webhooks.md), never
renamed; a new event is a new name. Their descriptions are shown in the console, translated."""

from django.utils.translation import gettext_lazy as _

INCIDENT_CREATED = "incident.created"
INCIDENT_TRANSITIONED = "incident.transitioned"
UPDATE_PUBLISHED = "update.published"
PROMISE_MISSED = "promise.missed"
DEADLINE_DUE = "deadline.due"
ACKNOWLEDGEMENT_CONFIRMED = "acknowledgement.confirmed"
SURVEY_ANSWERED = "survey.answered"

EVENT_TYPES = {
    INCIDENT_CREATED: _("An incident was opened (as a draft, by a person or a monitoring alert)."),
    INCIDENT_TRANSITIONED: _("An incident moved along its lifecycle (activated, resolved, closed...)."),
    UPDATE_PUBLISHED: _("An update (or a holding statement) was published to the affected clients."),
    PROMISE_MISSED: _("The promised time of the next update passed with nothing published: the team was alerted."),
    DEADLINE_DUE: _("A checklist deadline (a regulator's notice, a recall filing) passed without the item done."),
    ACKNOWLEDGEMENT_CONFIRMED: _("A client confirmed the action an update asked of them."),
    SURVEY_ANSWERED: _("A contact answered the after-incident survey."),
}
