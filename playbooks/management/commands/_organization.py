"""Which organisation a playbook command works in: the one named, or the only one there is."""

from django.core.management.base import CommandError

from accounts.models import Organization


def organization_named(slug, *, playbook_slug=None):
    if slug:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"No organisation with slug {slug!r}.")
        return organization
    candidates = Organization.objects.all()
    if playbook_slug:
        candidates = candidates.filter(playbooks__slug=playbook_slug)
    candidates = list(candidates.distinct()[:2])
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise CommandError(
            f"No organisation has a playbook {playbook_slug!r}." if playbook_slug else "There is no organisation yet."
        )
    raise CommandError("Several organisations could be meant: name one with --organization SLUG.")
