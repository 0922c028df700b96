"""The API of outgoing webhook endpoints: organisation admins register, change, switch off and
re-key them, and read their deliveries (with each attempt's answer) and send a failed one again.
Saved through the same service as the admin (HTTPS only, known event types)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.models import Role
from comms.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from comms.outgoing_webhooks.services import (
    webhook_delivery_retry,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_save,
    webhook_url_problem,
)
from playbooks.api.views import CandorViewMixin
from playbooks.integrations.events import EVENT_TYPES

ADMINS = frozenset({Role.ADMIN})


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)),
        required=False,
        default=list,
        help_text="Event types to send; empty sends every event.",
    )
    secret = serializers.CharField(read_only=True, help_text="Signs every delivery; see docs/webhooks.md.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "name", "url", "event_types", "is_active", "secret", "created_at"]
        read_only_fields = ["id", "secret", "created_at"]

    def validate_url(self, url):
        problem = webhook_url_problem(url)
        if problem:
            raise serializers.ValidationError(problem)
        return url


class WebhookDeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDeliveryAttempt
        fields = ["started_at", "duration_ms", "status_code", "outcome", "error", "response_body"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    attempts_made = WebhookDeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_type",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "failed_at",
            "attempts_made",
        ]


class WebhookEndpointViewSet(CandorViewMixin, viewsets.ModelViewSet):
    """Organisation admins only, reads included: an endpoint's secret is in every answer."""

    serializer_class = WebhookEndpointSerializer
    action_roles = {
        "create": ADMINS,
        "update": ADMINS,
        "partial_update": ADMINS,
        "destroy": ADMINS,
        "rotate_secret": ADMINS,
        "retry_delivery": ADMINS,
    }

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.user.role != Role.ADMIN:
            raise PermissionDenied("Only organisation admins manage webhook endpoints.")

    def get_queryset(self):
        if self.is_schema_generation:
            return WebhookEndpoint.objects.none()
        return WebhookEndpoint.objects.filter(organization=self.organization).order_by("name", "id")

    def _save(self, serializer, endpoint=None):
        data = serializer.validated_data
        current = endpoint or WebhookEndpoint()
        return webhook_endpoint_save(
            organization=self.organization,
            endpoint=endpoint,
            name=data.get("name", current.name),
            url=data.get("url", current.url),
            event_types=data.get("event_types", current.event_types or []),
            is_active=data.get("is_active", current.is_active if endpoint else True),
            known_event_types=sorted(EVENT_TYPES),
        )

    def perform_create(self, serializer):
        serializer.instance = self._save(serializer)

    def perform_update(self, serializer):
        serializer.instance = self._save(serializer, endpoint=serializer.instance)

    @extend_schema(request=None, responses=WebhookEndpointSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = webhook_endpoint_rotate_secret(endpoint=self.get_object())
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        queryset = endpoint.deliveries.prefetch_related("attempts_made").order_by("-created_at", "-id")
        state = self.choice_param("status", ["pending", "sending", "delivered", "failed"])
        if state:
            queryset = queryset.filter(status=state)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="deliveries/<int:delivery_pk>/retry")
    def retry_delivery(self, request, pk=None, delivery_pk=None):
        endpoint = self.get_object()
        delivery = endpoint.deliveries.filter(pk=delivery_pk).first()
        if delivery is None:
            return Response({"detail": "No such delivery."}, status=status.HTTP_404_NOT_FOUND)
        if not webhook_delivery_retry(delivery=delivery):
            return Response(
                {"detail": f"Only a failed delivery can be sent again; this one is {delivery.status}.", "state": None},
                status=status.HTTP_409_CONFLICT,
            )
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
