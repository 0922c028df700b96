"""Reads for the integrations page: the organisation's webhook endpoints and team channels, each
with its recent deliveries, so a failure and its reason are seen where they are set up."""

from comms.models import Message, TeamChannel, WebhookDelivery, WebhookEndpoint

RECENT = 10


def webhook_endpoints_with_recent(*, organization, limit=RECENT):
    endpoints = list(WebhookEndpoint.objects.filter(organization=organization).order_by("name", "id"))
    for endpoint in endpoints:
        endpoint.recent = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")[:limit])
        endpoint.failed_count = WebhookDelivery.objects.filter(endpoint=endpoint, status="failed").count()
    return endpoints


def team_channels_with_recent(*, organization, limit=RECENT):
    channels = list(TeamChannel.objects.filter(organization=organization).order_by("kind", "name"))
    for channel in channels:
        channel.recent = list(
            Message.objects.filter(team_channel=channel).select_related("content").order_by("-queued_at", "-id")[:limit]
        )
        channel.failed_count = Message.objects.filter(team_channel=channel, status="failed").count()
    return channels


def webhook_delivery_get(*, organization, pk):
    return WebhookDelivery.objects.select_related("endpoint").get(endpoint__organization=organization, pk=pk)
