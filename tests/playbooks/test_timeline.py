"""The timeline is written with each transition, in the same transaction, and cannot be altered."""

import pytest
from django.db import IntegrityError, connection, transaction

from playbooks.incidents.services import incident_transition
from playbooks.models import Incident, TimelineEntry, TimelineImmutable


def test_each_transition_writes_one_entry_with_actor_states_and_note(outage_playbook, make_incident, alice):
    incident = make_incident(outage_playbook)
    incident_transition(incident=incident, name="activate", actor=alice, note="Pager fired at 09:12.")
    entry = incident.timeline.get(kind="transition")
    assert (entry.actor, entry.from_state, entry.to_state, entry.note) == (
        alice,
        "draft",
        "investigating",
        "Pager fired at 09:12.",
    )
    assert incident.timeline.filter(kind="created").count() == 1


def test_a_failed_timeline_write_rolls_the_transition_back(outage_playbook, make_incident, alice, monkeypatch):
    incident = make_incident(outage_playbook)

    def refuse(*args, **kwargs):
        raise IntegrityError("disk full")

    monkeypatch.setattr(TimelineEntry, "save", refuse)
    with pytest.raises(IntegrityError):
        incident_transition(incident=incident, name="activate", actor=alice)
    monkeypatch.undo()
    assert Incident.objects.get(pk=incident.pk).state == "draft"
    assert not TimelineEntry.objects.filter(incident=incident, kind="transition").exists()


def test_entries_cannot_be_changed_or_deleted_through_the_orm(outage_playbook, make_incident):
    entry = make_incident(outage_playbook).timeline.get()
    entry.note = "rewritten"
    with pytest.raises(TimelineImmutable):
        entry.save()
    with pytest.raises(TimelineImmutable):
        entry.delete()
    with pytest.raises(TimelineImmutable):
        TimelineEntry.objects.filter(pk=entry.pk).update(note="rewritten")
    with pytest.raises(TimelineImmutable):
        TimelineEntry.objects.filter(pk=entry.pk).delete()
    assert TimelineEntry.objects.get(pk=entry.pk).note != "rewritten"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database trigger exists on PostgreSQL")
def test_postgresql_refuses_raw_updates_and_deletes(outage_playbook, make_incident):
    entry = make_incident(outage_playbook).timeline.get()
    for sql in [
        "UPDATE playbooks_timelineentry SET note = 'x' WHERE id = %s",
        "DELETE FROM playbooks_timelineentry WHERE id = %s",
    ]:
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])


def test_admin_shows_the_timeline_read_only(admin_client, outage_playbook, make_incident):
    entry = make_incident(outage_playbook).timeline.get()
    assert admin_client.get(f"/admin/playbooks/timelineentry/{entry.pk}/delete/").status_code == 403
    response = admin_client.post(f"/admin/playbooks/timelineentry/{entry.pk}/change/", {"note": "x"})
    assert response.status_code == 403
    assert admin_client.get("/admin/playbooks/timelineentry/add/").status_code == 403
