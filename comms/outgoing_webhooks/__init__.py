"""Outgoing webhooks: signed event deliveries to an organisation's own HTTPS endpoints, each a row
with its attempts and backoff (comms.models.WebhookDelivery). Which events exist and what they
carry is the caller's business (playbooks.integrations)."""
