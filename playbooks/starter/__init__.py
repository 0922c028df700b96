"""The three starter playbooks (outage, recall, compliance), shipped as JSON under playbooks/starter/.

Loading is idempotent: a playbook already present (same slug) is left alone, because once
loaded it belongs to the organisation, which may have edited it.
"""

import json
from pathlib import Path

from django.db import transaction

from playbooks.models import ChecklistItem, Playbook, PlaybookStage, StageAcknowledgement, StageMessage

STARTER_DIR = Path(__file__).resolve().parent


def starter_playbook_files():
    return sorted(STARTER_DIR.glob("*.json"))


@transaction.atomic
def starter_playbooks_load(*, organization):
    """Create each starter playbook the organisation does not have yet; return (created, existing)."""
    created, existing = [], []
    for path in starter_playbook_files():
        spec = json.loads(path.read_text(encoding="utf-8"))
        playbook = Playbook.objects.filter(organization=organization, slug=spec["slug"]).first()
        if playbook is not None:
            existing.append(playbook)
            continue
        created.append(_create_playbook(organization, spec))
    return created, existing


def _create_playbook(organization, spec):
    playbook = Playbook.objects.create(
        organization=organization,
        slug=spec["slug"],
        kind=spec["kind"],
        name=spec["name"],
        description=spec.get("description", ""),
        default_severity=spec.get("default_severity", 2),
        default_language=spec.get("default_language", "en"),
        audience_all_clients=spec.get("audience_all_clients", False),
        audience_tags=spec.get("audience_tags", []),
        audience_countries=spec.get("audience_countries", []),
        requires_authority_notification=spec.get("requires_authority_notification", True),
        content_rules=spec.get("content_rules", {}),
    )
    # bulk_create skips the per-row version bump: a freshly loaded playbook is version 1.
    for stage_spec in spec["stages"]:
        stage = PlaybookStage(
            playbook=playbook,
            stage=stage_spec["stage"],
            cadence_minutes=stage_spec["cadence_minutes"],
            needs_approval=stage_spec.get("needs_approval", False),
            auto_holding_statement=stage_spec.get("auto_holding_statement", False),
        )
        stage.full_clean()
        PlaybookStage.objects.bulk_create([stage])
        messages = []
        for purpose, by_language in stage_spec.get("messages", {}).items():
            for language, by_channel in by_language.items():
                for channel, content in by_channel.items():
                    message = StageMessage(
                        stage=stage,
                        purpose=purpose,
                        language=language,
                        channel=channel,
                        subject=content.get("subject", ""),
                        body=content["body"],
                    )
                    message.full_clean(exclude=["stage"])
                    messages.append(message)
        StageMessage.objects.bulk_create(messages)
        if stage_spec.get("acknowledgement"):
            # What the stage asks clients to confirm; checked as the admin checks it.
            acknowledgement = StageAcknowledgement(
                stage=stage,
                texts=stage_spec["acknowledgement"]["texts"],
                chase_after_minutes=stage_spec["acknowledgement"].get("chase_after_minutes", 240),
            )
            acknowledgement.full_clean(exclude=["stage"])
            StageAcknowledgement.objects.bulk_create([acknowledgement])
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            playbook=playbook,
            position=position,
            title=item["title"],
            description=item.get("description", ""),
            due_after_hours=item.get("due_after_hours"),
            due_after_business_days=item.get("due_after_business_days"),
            guidance=item.get("guidance", ""),
            business_calendar=item.get("business_calendar", ""),
        )
        for position, item in enumerate(spec.get("checklist", []))
    )
    return playbook
