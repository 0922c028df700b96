"""How a thing is said and delivered: the outbox of messages, what providers report back, and
the inbox of replies. Comms knows contacts and channels, not crises: a message carries an opaque
`topic` (e.g. "incident:42") and `source` (e.g. "update:17") that only the caller reads.
"""

import hashlib

from django.db import models
from django.utils import timezone

from accounts.models import Contact, Organization, User
from candor.helpers import display_name

from .providers.base import apply_substitutions


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


# Team channels: a notice is posted once into a channel of the team's chat, not sent to a person.
TEAM_CHANNELS = (Channel.SLACK, Channel.TEAMS)


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"


# Status only moves forward: a late "sent" callback never undoes "delivered".
STATUS_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.FAILED: 3,
    MessageStatus.BOUNCED: 3,
}
FINAL_STATUSES = {MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED, MessageStatus.BOUNCED}
FAILED_STATUSES = {MessageStatus.UNDELIVERED, MessageStatus.FAILED, MessageStatus.BOUNCED}
REACHED_STATUSES = {MessageStatus.SENT, MessageStatus.DELIVERED}


class MessageContent(models.Model):
    """Words shared by many messages: one per (source, channel, language, timezone) group.

    Per-recipient values (name, private links) are substitution tokens like `-status_url-`,
    filled from each message's `substitutions`; that is also how SendGrid batches them.
    """

    source = models.CharField(max_length=100, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    language = models.CharField(max_length=8)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "channel", "digest"], name="unique_content")]

    def __str__(self):
        return f"{self.source} {self.channel} {self.language}"

    @staticmethod
    def digest_of(*, channel, language, subject, body):
        return hashlib.sha256("\x1f".join([channel, language, subject, body]).encode()).hexdigest()

    def render(self, substitutions):
        return apply_substitutions(self.subject, substitutions), apply_substitutions(self.body, substitutions)


class TeamChannel(models.Model):
    """A Slack or Microsoft Teams channel that the team's notices are posted into, through the
    channel's incoming-webhook URL (Slack "Incoming Webhooks", Teams "Workflows").

    `scope` is opaque to comms, like a message's topic: blank posts every notice of the
    organisation; otherwise only the notices whose caller names that scope (e.g. "playbook:recall").
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="team_channels")
    kind = models.CharField(max_length=10, choices=[(c.value, c.label) for c in TEAM_CHANNELS])
    name = models.CharField(max_length=100, help_text='How the team knows the channel, e.g. "#incidents".')
    webhook_url = models.URLField(
        max_length=1000, help_text="The channel's incoming-webhook URL. Treat it as a secret: anyone with it can post."
    )
    scope = models.CharField(
        max_length=100,
        blank=True,
        help_text="Blank: every team notice of the organisation. playbook:<slug>: only that playbook's incidents.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organization", "kind", "name"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}"


class Message(models.Model):
    """One message to one contact on one channel: the truth about a send.

    Unique per (source, contact, channel), so queueing the same source twice creates nothing new.
    A message goes to a client's contact, or, for internal alerts (reminders, escalations), to a
    member of the organisation (`user`) or into a team channel (Slack, Teams): exactly one of the
    three is set.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="messages")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    user = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="team_messages",
        help_text="A member of the organisation, for internal alerts (instead of a contact).",
    )
    team_channel = models.ForeignKey(
        TeamChannel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        help_text="A Slack or Teams channel, for internal alerts posted into the team's chat.",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    topic = models.CharField(max_length=100, help_text="Opaque to comms, e.g. incident:42.")
    source = models.CharField(max_length=100, help_text="Opaque to comms, e.g. update:17.")
    content = models.ForeignKey(MessageContent, on_delete=models.PROTECT, related_name="messages")
    substitutions = models.JSONField(default=dict, blank=True)
    fallback_content = models.ForeignKey(
        MessageContent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text="Email words to use if this SMS fails permanently.",
    )
    fallback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="fallbacks", db_index=False
    )
    to_address = models.CharField(max_length=254, help_text="Email address or E.164 number at send time.")
    consent_at_send = models.CharField(max_length=20, blank=True, help_text="SMS consent state when queued.")
    segments = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=20, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    provider = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "contact", "channel"], name="one_message_per_source_contact_channel"
            ),
            models.UniqueConstraint(fields=["source", "user", "channel"], name="one_message_per_source_user_channel"),
            models.UniqueConstraint(
                fields=["source", "team_channel", "channel"], name="one_message_per_source_team_channel"
            ),
            models.CheckConstraint(
                name="message_to_contact_user_or_team_channel",
                condition=models.Q(contact__isnull=False, user__isnull=True, team_channel__isnull=True)
                | models.Q(contact__isnull=True, user__isnull=False, team_channel__isnull=True)
                | models.Q(contact__isnull=True, user__isnull=True, team_channel__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "status", "next_attempt_at"]),
            models.Index(fields=["topic", "status"]),
            models.Index(fields=["source", "status"]),
            # Few indexes on purpose: every status change rewrites each of them.
            models.Index(fields=["provider_message_id"], name="message_provider_id_idx"),
        ]

    def __str__(self):
        return f"{self.channel} to {self.to_address} ({self.status})"

    @property
    def recipient_name(self):
        if self.contact_id is not None:
            return self.contact.name
        if self.team_channel_id is not None:
            return str(self.team_channel)
        return display_name(self.user)

    @property
    def rendered(self):
        """(subject, body) with this recipient's values filled in."""
        return self.content.render(self.substitutions)

    def can_move_to(self, status):
        return STATUS_RANK[status] > STATUS_RANK[self.status] and self.status not in FINAL_STATUSES


class MessageEvent(models.Model):
    """A provider report about a message (status callback or event webhook), kept once.

    `dedup_key` is built from what the event says, not the provider's event id, since SendGrid
    may resend the same event under a new id.
    """

    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    provider = models.CharField(max_length=20)
    provider_message_id = models.CharField(
        max_length=100,
        blank=True,
        db_index=True,
        help_text="Kept for a report that arrives before we saved the provider's id (applied then).",
    )
    event = models.CharField(max_length=40)
    status = models.CharField(max_length=20, blank=True, help_text="The message status this report means.")
    error_code = models.CharField(max_length=40, blank=True)
    dedup_key = models.CharField(max_length=64, unique=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self):
        return f"{self.provider} {self.event} for {self.message_id}"


class InboundKind(models.TextChoices):
    OPT_OUT = "opt_out", "Opt-out (STOP)"
    OPT_IN = "opt_in", "Opt-in (START)"
    HELP = "help", "Help"
    REPLY = "reply", "Reply"


class InboundMessage(models.Model):
    """An SMS a contact sent us. Replies are handed on to the configured handler."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="inbound_messages"
    )
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    provider_message_id = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=20)
    to_number = models.CharField(max_length=20, blank=True)
    body = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=InboundKind.choices)
    topic = models.CharField(max_length=100, blank=True, help_text="Topic of the last message sent to this contact.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.kind} from {self.from_number}"


class PreferenceChange(models.Model):
    """One change a contact made to how we reach them (preferences page or one-click unsubscribe).

    `changes` maps each changed field to [old, new]; the contact row holds the current values and
    the consent timestamps. Written only by comms.preferences.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="preference_changes")
    at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=20, help_text="page, one_click, ...")
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.contact} changed {', '.join(self.changes)} via {self.via}"


class Lease(models.Model):
    """A claim that lives only while the process holding it keeps renewing it.

    A worker takes one for each task it runs and one for each batch of messages it claims (the
    batch's `Message.claim` is the lease's token); a heartbeat thread in that process renews it
    every CANDOR_LEASE_RENEW_SECONDS. A lease past `expires_at` belongs to a dead process: its
    messages go back to the queue and its task row is marked failed, by any worker or the sweep.
    """

    token = models.CharField(max_length=32, unique=True)
    holder = models.CharField(max_length=100, help_text="host:pid of the process that renews it.")
    task_result_id = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="The task run this lease keeps alive, if any."
    )
    acquired_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"lease {self.token} by {self.holder} until {self.expires_at:%H:%M:%S}"


# ---------------------------------------------------------------------------------------------
# Outgoing webhooks: an organisation's HTTPS endpoints, and every delivery to them with its
# attempts (after Saleor's EventDelivery / EventDeliveryAttempt). Event types are opaque here:
# the caller keeps the catalogue and builds the payloads.


class WebhookEndpoint(models.Model):
    """An HTTPS endpoint of the organisation's own systems that receives signed event deliveries."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=1000, help_text="HTTPS (plain http only to 127.0.0.1 while developing).")
    secret = models.CharField(
        max_length=100, help_text="Signs every delivery (HMAC-SHA256); share it with the receiver."
    )
    event_types = models.JSONField(default=list, blank=True, help_text="Event types to send; empty sends all.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organization", "name", "id"]

    def __str__(self):
        return f"{self.name} ({self.url})"

    def wants(self, event_type):
        return self.is_active and (not self.event_types or event_type in self.event_types)


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint: the truth about a webhook send, retried with backoff.

    `body` is the exact JSON sent (and signed) on every attempt; `event_id` lets a receiver
    drop a repeat. Unique per (endpoint, source), so emitting the same event twice queues nothing.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=60)
    event_id = models.UUIDField(unique=True)
    topic = models.CharField(max_length=100, blank=True, help_text="Opaque to comms, e.g. incident:42.")
    source = models.CharField(max_length=120, help_text="Opaque to comms: what caused the event, once.")
    body = models.TextField()
    status = models.CharField(
        max_length=20, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "source"], name="one_webhook_delivery_per_endpoint_source")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.event_type} to {self.endpoint.name} ({self.status})"


class WebhookDeliveryAttempt(models.Model):
    """One HTTP request of a delivery and what came back (or why nothing did)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts_made")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    request_headers = models.JSONField(default=dict)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="The start of the answer, at most 2,000 characters.")
    outcome = models.CharField(max_length=20, help_text="accepted, transient or permanent")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self):
        return f"attempt on {self.delivery_id}: {self.outcome} {self.status_code or ''}".strip()
