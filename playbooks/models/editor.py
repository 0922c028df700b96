"""What the playbook editor keeps: a snapshot of each saved version of a playbook, with its author."""

from django.db import models
from django.utils import timezone

from accounts.models import User
from playbooks.models.core import Playbook

__all__ = ["PlaybookVersion"]


class PlaybookVersion(models.Model):
    """A playbook as it stood after one save in the editor (`Playbook.snapshot()`), and who saved it."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="saved_versions")
    number = models.PositiveIntegerField(help_text="The playbook's version after this save.")
    snapshot = models.JSONField()
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=300, blank=True, help_text="What changed, in a few words.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.playbook.name} v{self.number}"
