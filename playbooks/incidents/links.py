"""Signed links a contact opens without logging in: the private status page and the survey of
one incident. Unguessable; each purpose has its own salt, so one link never opens the other."""

from django.conf import settings

from comms.links import sign_value, unsign_value

STATUS_SALT = "candor.playbooks.status"
SURVEY_SALT = "candor.playbooks.survey"


def incident_contact_token(incident_id, contact_id, *, salt):
    return sign_value(f"{incident_id}-{contact_id}", salt=salt)


def ids_from_incident_contact_token(token, *, salt):
    """(incident_id, contact_id) for a genuine token, else None."""
    value = unsign_value(token, salt=salt)
    if value is None:
        return None
    incident_id, _, contact_id = value.partition("-")
    if not (incident_id.isdigit() and contact_id.isdigit()):
        return None
    return int(incident_id), int(contact_id)


def status_token(incident_id, contact_id):
    return incident_contact_token(incident_id, contact_id, salt=STATUS_SALT)


def status_url(incident_id, contact_id):
    return f"{settings.CANDOR_PUBLIC_URL}/s/{status_token(incident_id, contact_id)}/"


def ids_from_status_token(token):
    return ids_from_incident_contact_token(token, salt=STATUS_SALT)


def survey_token(incident_id, contact_id):
    return incident_contact_token(incident_id, contact_id, salt=SURVEY_SALT)


def survey_url(incident_id, contact_id):
    return f"{settings.CANDOR_PUBLIC_URL}/survey/{survey_token(incident_id, contact_id)}/"


def ids_from_survey_token(token):
    return ids_from_incident_contact_token(token, salt=SURVEY_SALT)
