"""The three starter playbooks (outage, recall, compliance), shipped under playbooks/starter/ as
playbook files (format candor-playbook/1, YAML; the older JSON shape is still read) and loaded
through the same import as any playbook file (playbooks.as_code).

Loading is idempotent: a playbook already present (same slug) is left alone, because once
loaded it belongs to the organisation, which may have edited it.
"""

from pathlib import Path

from django.db import transaction

from playbooks.as_code.format import document_from_text, document_to_yaml
from playbooks.as_code.services import playbook_import
from playbooks.models import Playbook

STARTER_DIR = Path(__file__).resolve().parent
STARTER_SUFFIXES = (".yaml", ".json")


def starter_playbook_files():
    """One file per starter playbook; a YAML file wins over a JSON one of the same name."""
    files = {}
    for suffix in reversed(STARTER_SUFFIXES):
        for path in STARTER_DIR.glob(f"*{suffix}"):
            files[path.stem] = path
    return [files[stem] for stem in sorted(files)]


def starter_json_to_yaml():
    """Rewrite each starter playbook still in the older JSON shape as its YAML file (same words),
    removing the JSON: `manage.py shell -c "from playbooks.starter import starter_json_to_yaml;
    starter_json_to_yaml()"`. Returns the files written."""
    written = []
    for path in sorted(STARTER_DIR.glob("*.json")):
        document = document_from_text(path.read_text(encoding="utf-8"))
        target = path.with_suffix(".yaml")
        target.write_text(document_to_yaml(document), encoding="utf-8")
        path.unlink()
        written.append(target)
    return written


@transaction.atomic
def starter_playbooks_load(*, organization):
    """Create each starter playbook the organisation does not have yet; return (created, existing)."""
    created, existing = [], []
    for path in starter_playbook_files():
        text = path.read_text(encoding="utf-8")
        slug = document_from_text(text).get("slug")
        playbook = Playbook.objects.filter(organization=organization, slug=slug).first()
        if playbook is not None:
            existing.append(playbook)
            continue
        created.append(playbook_import(organization=organization, text=text, filename=path.name).playbook)
    return created, existing
