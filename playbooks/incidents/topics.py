"""The opaque reference under which comms files an incident's messages: "incident:<id>".

comms never reads it; playbooks builds it here and reads it back here, nowhere else."""

PREFIX = "incident:"


def incident_topic(incident_or_id):
    """The topic of an incident (an Incident or its id)."""
    return f"{PREFIX}{getattr(incident_or_id, 'pk', incident_or_id)}"


def incident_id_from_topic(topic):
    """The incident id of a topic, or None when the topic is not an incident's."""
    if not topic or not topic.startswith(PREFIX):
        return None
    try:
        return int(topic[len(PREFIX) :])
    except ValueError:
        return None
