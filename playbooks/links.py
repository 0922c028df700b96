"""Signed links to a contact's private status page of one incident: unguessable, no login."""
from django.conf import settings
from django.core import signing

STATUS_SALT = "candor.playbooks.status"


def status_token(incident_id, contact_id):
    return signing.Signer(salt=STATUS_SALT).sign(f"{incident_id}.{contact_id}")


def status_url(incident_id, contact_id):
    return f"{settings.CANDOR_PUBLIC_URL}/s/{status_token(incident_id, contact_id)}/"


def ids_from_status_token(token):
    """(incident_id, contact_id) for a genuine token, else None."""
    try:
        incident_id, contact_id = signing.Signer(salt=STATUS_SALT).unsign(token).split(".")
        return int(incident_id), int(contact_id)
    except (signing.BadSignature, ValueError):
        return None
