"""The incident page shows a streamed publish's progress while workers write its messages."""

from comms.models import FanOut
from comms.services import fan_out_run
from playbooks.updates.services import update_draft, update_publish


def test_the_live_page_shows_how_many_contacts_are_written_until_the_fan_out_ends(
    live_incident, alice, logged_in, settings
):
    settings.CANDOR_FAN_OUT_FIRST_CHUNK_SIZE = 1
    settings.CANDOR_FAN_OUT_CHUNK_SIZE = 1
    update = update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    fan_out = FanOut.objects.get(source=f"update:{update.pk}")
    client = logged_in(alice)

    html = client.get(f"/incidents/{live_incident.pk}/live/").content.decode()
    assert f"writing: 1 of {fan_out.contacts} contacts" in html

    fan_out_run(fan_out_id=fan_out.pk)
    html = client.get(f"/incidents/{live_incident.pk}/live/").content.decode()
    assert "writing:" not in html
