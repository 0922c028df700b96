"""The crisis simulation: many incidents, commanders on time, late or gone, time travelled; every
promise ends kept, covered by a holding statement or escalated. Nothing passes silently."""

import io
import re

from django.core.management import call_command

from accounts.models import Organization
from playbooks.models import Incident


def test_a_small_simulation_has_no_silent_misses_and_leaves_nothing_behind(db):
    out = io.StringIO()
    call_command("simulate_crisis", incidents=20, hours=6, seed=3, processes=1, stdout=out)
    report = out.getvalue()
    assert re.search(r"SILENT MISSES\s+0\s", report), report
    assert "silent deadline misses 0." in report
    assert "(0 due left unrun)" in report
    # The words of every client message queued were read: whole, and no promise without a time.
    assert re.search(r"Words: [\d,]+ client messages read; PROMISES WITHOUT A TIME 0; BROKEN VARIABLES 0\.", report)
    assert int(re.search(r"Words: ([\d,]+) client", report).group(1).replace(",", "")) > 100
    promises = int(re.search(r"Promises\s+([\d,]+)", report).group(1).replace(",", ""))
    assert promises > 40
    for outcome in ("kept on time", "kept late", "covered by a holding statement"):
        assert int(re.search(rf"{outcome}\s+([\d,]+)", report).group(1).replace(",", "")) > 0, outcome
    # The run is rolled back: no simulated organisation is left in the database.
    assert not Organization.objects.filter(slug__startswith="simulation-").exists()
    assert not Incident.objects.exists()


def test_the_same_seed_gives_the_same_table(db):
    tables = []
    for _ in range(2):
        out = io.StringIO()
        call_command("simulate_crisis", incidents=5, hours=3, seed=11, processes=1, stdout=out)
        tables.append(out.getvalue().split("\n", 1)[1])  # without the first line's timing
    assert tables[0] == tables[1]


def test_a_parallel_simulation_adds_up_its_parts(db):
    """Each process migrates its own temporary SQLite file; the test database stays untouched."""
    out = io.StringIO()
    call_command("simulate_crisis", incidents=6, hours=2, seed=5, processes=2, stdout=out)
    report = out.getvalue()
    assert "(2 processes)" in report
    assert re.search(r"SILENT MISSES\s+0\s", report), report
    assert int(re.search(r"Promises\s+([\d,]+)", report).group(1)) > 6
    assert not Incident.objects.exists()


def test_the_simulations_reader_counts_empty_promises_and_broken_variables(organization):
    """What the simulation counts, shown on messages queued past the preflight (straight to comms)."""
    from comms.services import ContentSpec, RecipientSpec, messages_queue
    from playbooks.management.commands.simulate_crisis import queued_words_report
    from tests.conftest import make_client, make_contact

    anna = make_contact(make_client(organization, name="Berliner Bank"), "Anna Schmidt")
    contents = {
        "promise": ContentSpec("email", "en", "Resolved", "Final follow-up by ."),
        "broken": ContentSpec("email", "de", "Behoben", "Guten Tag -contact_name-, Nächste Meldung: 11:00 Uhr."),
    }
    for key in contents:
        messages_queue(
            organization=organization,
            topic="incident:1",
            source=f"test:{key}",
            contents={key: contents[key]},
            recipients=[RecipientSpec(anna, "email", key, {})],
        )
    report = queued_words_report(organization=organization)
    assert (report["messages_checked"], report["promises_without_time"], report["broken_variables"]) == (2, 1, 1)
