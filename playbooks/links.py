"""Signed links to a contact's private status page of one incident: unguessable, no login."""
from django.conf import settings

from comms.links import sign_value, unsign_value

STATUS_SALT = "candor.playbooks.status"


def status_token(incident_id, contact_id):
    return sign_value(f"{incident_id}-{contact_id}", salt=STATUS_SALT)


def status_url(incident_id, contact_id):
    return f"{settings.CANDOR_PUBLIC_URL}/s/{status_token(incident_id, contact_id)}/"


def ids_from_status_token(token):
    """(incident_id, contact_id) for a genuine token, else None."""
    value = unsign_value(token, salt=STATUS_SALT)
    if value is None:
        return None
    incident_id, _, contact_id = value.partition("-")
    if not (incident_id.isdigit() and contact_id.isdigit()):
        return None
    return int(incident_id), int(contact_id)
