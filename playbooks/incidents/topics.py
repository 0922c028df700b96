"""The opaque reference a batch of messages carries through comms: "incident:<id>". Built and read
here only; comms stores and filters by it without knowing what it means."""

PREFIX = "incident"


def incident_topic(incident_or_id):
    """The topic of an incident's messages and replies, from the incident or its id."""
    incident_id = getattr(incident_or_id, "pk", incident_or_id)
    return f"{PREFIX}:{incident_id}"


def incident_id_from_topic(topic):
    """The incident id a topic names, or None when the topic is not an incident's."""
    prefix, _, value = (topic or "").partition(":")
    if prefix != PREFIX or not value.isdigit():
        return None
    return int(value)
