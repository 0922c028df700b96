"""Playbooks as code: export, import with every problem reported by its path, idempotence, the
version bumped only on change, the dry-run diff, and the published JSON Schema."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.core.management import CommandError, call_command

from playbooks.as_code.format import PLAYBOOK_SCHEMA
from playbooks.as_code.services import PlaybookImportError, playbook_export, playbook_import
from playbooks.models import Playbook, StageMessage
from playbooks.starter import starter_playbooks_load

DOCS_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "playbook.schema.json"


@pytest.fixture
def starters(organization):
    created, _ = starter_playbooks_load(organization=organization)
    return created


def test_every_starter_playbook_exported_and_imported_into_an_empty_organisation_is_identical(
    starters, other_organization
):
    assert len(starters) == 3
    for playbook in starters:
        text = playbook_export(playbook=playbook)
        result = playbook_import(organization=other_organization, text=text)
        copy = result.playbook
        assert result.created and copy.organization == other_organization and copy.version == 1
        assert playbook_export(playbook=copy) == text
        assert copy.snapshot()["stages"] == playbook.snapshot()["stages"]
        assert copy.snapshot()["checklist"] == playbook.snapshot()["checklist"]


def test_the_exported_files_are_valid_against_the_published_json_schema(starters):
    for playbook in starters:
        jsonschema.validate(yaml.safe_load(playbook_export(playbook=playbook)), PLAYBOOK_SCHEMA)


def test_the_schema_in_docs_is_the_one_the_code_publishes(api, alice):
    assert json.loads(DOCS_SCHEMA.read_text(encoding="utf-8")) == PLAYBOOK_SCHEMA, (
        "Regenerate it: python -c 'import json; from playbooks.as_code.format import PLAYBOOK_SCHEMA; "
        "print(json.dumps(PLAYBOOK_SCHEMA, indent=2, ensure_ascii=False))' > docs/playbook.schema.json"
    )
    response = api(alice).get("/api/playbooks/schema.json")
    assert response.status_code == 200
    assert response.json() == PLAYBOOK_SCHEMA


def test_importing_the_same_file_again_changes_nothing_and_keeps_the_version(starters):
    playbook = starters[0]
    version = playbook.version
    result = playbook_import(organization=playbook.organization, text=playbook_export(playbook=playbook))
    assert not result.changed and not result.created
    playbook.refresh_from_db()
    assert playbook.version == version


def test_a_change_bumps_the_version_once_and_a_dry_run_shows_the_diff_first(starters):
    playbook = next(p for p in starters if p.kind == "outage")
    version = playbook.version
    document = yaml.safe_load(playbook_export(playbook=playbook))
    document["stages"][0]["cadence_minutes"] = 45
    document["stages"][0]["messages"]["en"]["sms"] = "We are looking into it: {{ incident_title }}. {{ status_url }}"
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)

    dry = playbook_import(organization=playbook.organization, text=text, dry_run=True, filename="outage.yaml")
    assert dry.changed and dry.dry_run
    assert "-    cadence_minutes: 30\n+    cadence_minutes: 45\n" in dry.diff
    assert "+        sms: 'We are looking into it: {{ incident_title }}. {{ status_url }}'" in dry.diff
    assert dry.diff.startswith(f"--- outage-standard v{version}\n+++ outage.yaml\n")
    playbook.refresh_from_db()
    assert playbook.version == version
    assert playbook.stages.get(stage="investigating").cadence_minutes == 30

    result = playbook_import(organization=playbook.organization, text=text)
    assert result.changed
    playbook.refresh_from_db()
    assert playbook.version == version + 1
    assert playbook.stages.get(stage="investigating").cadence_minutes == 45
    again = playbook_import(organization=playbook.organization, text=text)
    assert not again.changed
    playbook.refresh_from_db()
    assert playbook.version == version + 1


FIVE_MISTAKES = """
format: candor-playbook/1
slug: outage-standard
kind: outage
name: Service outage
stages:
  - stage: investigating
    cadence_minutes: 2
    messages:
      en:
        email: {subject: "Investigating", body: "Hello {{ contact_name }}"}
        sms: "Down: {{ incident_titel }}"
  - stage: identified
    messages:
      de:
        sms: "{{ incident_title }} %s"
  - stage: fixed
checklist:
  - title: Notify the authority
    due_after_hours: 4
    due_after_business_days: 1
""" % ("日" * 300)


def test_a_file_with_five_mistakes_reports_all_five_with_their_paths_and_changes_nothing(starters):
    playbook = next(p for p in starters if p.kind == "outage")
    before = playbook_export(playbook=playbook)
    messages = StageMessage.objects.count()
    with pytest.raises(PlaybookImportError) as raised:
        playbook_import(organization=playbook.organization, text=FIVE_MISTAKES)
    paths = [problem.path for problem in raised.value.problems]
    assert paths == [
        "stages[0].cadence_minutes",
        "stages[0].messages.en.sms",
        "stages[1].messages.de.sms",
        "stages[2].stage",
        "checklist[0]",
    ]
    text = str(raised.value)
    assert "incident_titel" in text and "segments" in text and "'fixed' is not a stage" in text
    playbook.refresh_from_db()
    assert playbook_export(playbook=playbook) == before
    assert StageMessage.objects.count() == messages


def test_a_file_that_is_not_yaml_says_where(organization):
    with pytest.raises(PlaybookImportError) as raised:
        playbook_import(organization=organization, text="slug: [unclosed\nkind: outage\n")
    assert "line" in str(raised.value)
    assert not Playbook.objects.exists()


def test_the_commands_export_check_and_import(starters, tmp_path, capsys):
    call_command("playbook_export", "recall-eu-product", "--organization", "northwind", "--output", tmp_path / "r.yaml")
    text = (tmp_path / "r.yaml").read_text(encoding="utf-8")
    assert text.startswith("# A Candor playbook")
    (tmp_path / "r.yaml").write_text(text.replace("cadence_minutes: 240", "cadence_minutes: 180", 1), encoding="utf-8")
    call_command("playbook_import", tmp_path / "r.yaml", "--dry-run")
    out = capsys.readouterr().out
    assert "-    cadence_minutes: 240\n+    cadence_minutes: 180\n" in out
    call_command("playbook_import", tmp_path / "r.yaml")
    assert "updated to v" in capsys.readouterr().out
    (tmp_path / "bad.yaml").write_text(FIVE_MISTAKES, encoding="utf-8")
    with pytest.raises(CommandError) as raised:
        call_command("playbook_import", tmp_path / "bad.yaml")
    assert "5 problems, nothing changed" in str(raised.value)
    assert "stages[1].messages.de.sms" in str(raised.value)


def test_the_api_exports_and_imports_with_the_same_rules(api, dave, alice, starters, other_organization, eve):
    playbook = starters[0]
    response = api(alice).get(f"/api/playbooks/{playbook.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    text = response.content.decode()
    assert api(eve).get(f"/api/playbooks/{playbook.pk}/export/").status_code == 404
    assert api(alice).post("/api/playbooks/import/", {"file": text}, format="json").status_code == 403

    created = api(eve).post("/api/playbooks/import/", {"file": text, "dry_run": True}, format="json")
    assert created.status_code == 403  # eve is a commander; admins change playbooks
    unchanged = api(dave).post("/api/playbooks/import/", {"file": text}, format="json")
    assert unchanged.status_code == 200 and unchanged.json()["changed"] is False
    bad = api(dave).post("/api/playbooks/import/", {"file": FIVE_MISTAKES}, format="json")
    assert bad.status_code == 400
    assert len(bad.json()["problems"]) == 5


def test_the_starter_files_are_exactly_what_the_export_writes(starters):
    from playbooks.starter import STARTER_DIR

    for playbook in starters:
        shipped = (STARTER_DIR / f"{playbook.slug}.yaml").read_text(encoding="utf-8")
        assert playbook_export(playbook=playbook) == shipped
