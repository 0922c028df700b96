"""REST API views: thin, scoped to the caller's organisation, calling the same services as the console.

Errors: bad input is 400 with field errors, a refused or lost transition 409 naming the state now,
a role that may not act 403, and another organisation's object 404.
"""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, Q
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action, api_view, permission_classes, schema
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts.importing import contacts_import
from accounts.models import ClientAccount, Contact
from candor.throttling import TokenRateThrottle, WriteRateThrottle
from comms.models import Channel, Message, MessageStatus
from comms.rendering import MessageTemplateError
from comms.selectors import message_list
from playbooks.api import serializers as s
from playbooks.api.permissions import RUNNERS, TEAM, RolePermission
from playbooks.console.selectors import transitions_available, update_list
from playbooks.incidents.selectors import incident_list, playbook_list
from playbooks.incidents.services import TransitionRefused, incident_create, incident_transition
from playbooks.incidents.topics import incident_topic
from playbooks.models import LIVE_STATES, Incident, IncidentUpdate, Kind, Playbook, UpdateImmutable
from playbooks.updates.plain_language import plain_language_check
from playbooks.updates.preflight import refuse_if_blocked
from playbooks.updates.preview import audience_preview, sample_previews, sms_send_estimate
from playbooks.updates.services import (
    update_approve,
    update_draft,
    update_edit,
    update_preflight,
    update_preview,
    update_publish,
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


ERROR_RESPONSES = {
    "400": OpenApiResponse(OpenApiTypes.OBJECT, description="Bad input: {field: [messages]}."),
    "401": OpenApiResponse(s.ErrorSerializer, description="No or an invalid token or session."),
    "403": OpenApiResponse(s.ErrorSerializer, description="Your role may not do this."),
    "404": OpenApiResponse(s.ErrorSerializer, description="No such object in your organisation."),
    "429": OpenApiResponse(s.ErrorSerializer, description="Too many requests; retry after Retry-After seconds."),
}
UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(s.ErrorSerializer, description="A body this operation cannot read.")
CONFLICT = OpenApiResponse(s.ConflictSerializer, description="Not possible in the incident's state now.")


class CandorAutoSchema(AutoSchema):
    """Documents the error answers every operation can give, so clients (and schemathesis) know them."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ERROR_RESPONSES)
        if self.method in ("POST", "PUT", "PATCH"):
            errors["415"] = UNSUPPORTED_MEDIA_TYPE
        for code, response in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses


class CandorPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class CandorViewMixin:
    permission_classes = [IsAuthenticated, RolePermission]
    throttle_classes = [WriteRateThrottle]
    pagination_class = CandorPagination
    schema = CandorAutoSchema()
    lookup_value_converter = "int"
    action_roles = {}

    @property
    def is_schema_generation(self):
        return getattr(self, "swagger_fake_view", False)

    @property
    def organization(self):
        return self.request.user.organization

    def handle_exception(self, exc):
        if isinstance(exc, TransitionRefused):
            exc = Conflict({"detail": str(exc), "state": exc.state})
        elif isinstance(exc, UpdateImmutable):
            exc = Conflict({"detail": str(exc), "state": None})
        elif isinstance(exc, ProtectedError):
            exc = Conflict(
                {"detail": "Messages were sent to it, so it cannot be deleted; deactivate it instead.", "state": None}
            )
        elif isinstance(exc, DjangoValidationError):
            exc = ValidationError(s.api_errors(exc))
        elif isinstance(exc, MessageTemplateError):
            exc = ValidationError({"texts": [str(exc)]})
        return super().handle_exception(exc)

    # Query-string filters, checked so a typo is a 400, never a silent "everything".
    def int_param(self, name):
        value = self.request.query_params.get(name)
        if value in (None, ""):
            return None
        if not re.fullmatch(r"[0-9]{1,18}", value):
            raise ValidationError({name: ["A whole number."]})
        return int(value)

    def bool_param(self, name):
        value = self.request.query_params.get(name)
        if value in (None, ""):
            return None
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValidationError({name: ["true or false."]})
        return value.lower() in ("true", "1")

    def choice_param(self, name, choices):
        value = self.request.query_params.get(name)
        if value in (None, ""):
            return None
        if value not in choices:
            raise ValidationError({name: [f"One of: {', '.join(choices)}."]})
        return value


def _param(name, type_, description, enum=None):
    return OpenApiParameter(name, type_, OpenApiParameter.QUERY, required=False, description=description, enum=enum)


# ---------------------------------------------------------------------------------------------
# Playbooks


@extend_schema_view(
    list=extend_schema(
        summary="The organisation's playbooks",
        parameters=[
            _param("kind", str, "outage, recall or compliance.", enum=Kind.values),
            _param("is_active", bool, "Only active (true) or inactive (false) playbooks."),
        ],
    ),
    retrieve=extend_schema(summary="One playbook with its stages"),
)
class PlaybookViewSet(CandorViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.PlaybookSerializer

    def get_queryset(self):
        if self.is_schema_generation:
            return Playbook.objects.none()
        playbooks = playbook_list(user=self.request.user).prefetch_related("stages__messages").order_by("kind", "name")
        if self.action == "list":
            kind = self.choice_param("kind", Kind.values)
            if kind:
                playbooks = playbooks.filter(kind=kind)
            is_active = self.bool_param("is_active")
            if is_active is not None:
                playbooks = playbooks.filter(is_active=is_active)
        return playbooks


# ---------------------------------------------------------------------------------------------
# Clients and contacts


@extend_schema_view(
    list=extend_schema(
        summary="Client accounts",
        parameters=[
            _param("tag", str, "Clients with this tag."),
            _param("country", str, "ISO country code."),
            _param("search", str, "Part of the name."),
        ],
    ),
    create=extend_schema(summary="Add a client account (admins and commanders)"),
    update=extend_schema(summary="Replace a client account (admins and commanders)"),
    partial_update=extend_schema(summary="Change a client account (admins and commanders)"),
    destroy=extend_schema(
        summary="Delete a client account and its contacts (admins and commanders)", responses={204: None, 409: CONFLICT}
    ),
)
class ClientAccountViewSet(CandorViewMixin, viewsets.ModelViewSet):
    serializer_class = s.ClientAccountSerializer
    action_roles = {"create": RUNNERS, "update": RUNNERS, "partial_update": RUNNERS, "destroy": RUNNERS}

    def get_queryset(self):
        if self.is_schema_generation:
            return ClientAccount.objects.none()
        clients = ClientAccount.objects.filter(organization_id=self.request.user.organization_id).order_by("name")
        if self.action == "list":
            params = self.request.query_params
            if params.get("tag"):
                clients = [client.pk for client in clients if params["tag"] in (client.tags or [])]
                clients = ClientAccount.objects.filter(pk__in=clients).order_by("name")
            if params.get("country"):
                clients = clients.filter(country=params["country"].upper())
            if params.get("search"):
                clients = clients.filter(name__icontains=params["search"])
        return clients

    def perform_create(self, serializer):
        serializer.save(organization=self.organization)


@extend_schema_view(
    list=extend_schema(
        summary="Contacts",
        parameters=[
            _param("client", int, "Contacts of this client account."),
            _param("is_active", bool, "Only active (true) or inactive (false) contacts."),
            _param("search", str, "Part of the name, email or phone."),
        ],
    ),
    create=extend_schema(summary="Add a contact (admins and commanders)"),
    update=extend_schema(summary="Replace a contact (admins and commanders)"),
    partial_update=extend_schema(summary="Change a contact (admins and commanders)"),
    destroy=extend_schema(
        summary="Delete a contact never messaged (admins and commanders)", responses={204: None, 409: CONFLICT}
    ),
)
class ContactViewSet(CandorViewMixin, viewsets.ModelViewSet):
    serializer_class = s.ContactSerializer
    action_roles = {
        "create": RUNNERS,
        "update": RUNNERS,
        "partial_update": RUNNERS,
        "destroy": RUNNERS,
        "import_csv": RUNNERS,
    }

    def get_queryset(self):
        if self.is_schema_generation:
            return Contact.objects.none()
        contacts = (
            Contact.objects.filter(client__organization_id=self.request.user.organization_id)
            .select_related("client")
            .order_by("client__name", "name", "id")
        )
        if self.action == "list":
            client = self.int_param("client")
            if client is not None:
                contacts = contacts.filter(client_id=client)
            is_active = self.bool_param("is_active")
            if is_active is not None:
                contacts = contacts.filter(is_active=is_active)
            search = self.request.query_params.get("search")
            if search:
                contacts = contacts.filter(
                    Q(name__icontains=search) | Q(email__icontains=search) | Q(phone__icontains=search)
                )
        return contacts

    @extend_schema(
        summary="Import clients and contacts from CSV (admins and commanders)",
        description="Every row is checked first. With errors nothing is written (400 with the report), "
        "unless import_valid_rows is set. A dry run writes nothing.",
        request={"multipart/form-data": s.ContactImportSerializer},
        responses={
            200: s.ImportReportSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Field errors ({field: [messages]}), or the import report when rows have errors.",
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_csv(self, request):
        form = s.ContactImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        report = contacts_import(
            organization=self.organization,
            csv_file=form.validated_data["file"].read(),
            dry_run=form.validated_data["dry_run"],
            import_valid_rows=form.validated_data["import_valid_rows"],
        )
        return Response(
            s.ImportReportSerializer(report).data,
            status=status.HTTP_400_BAD_REQUEST if report.is_blocked else status.HTTP_200_OK,
        )


# ---------------------------------------------------------------------------------------------
# Incidents


@extend_schema_view(
    list=extend_schema(
        summary="Incidents, newest first",
        parameters=[
            _param("state", str, "Incidents in this state."),
            _param("kind", str, "outage, recall or compliance.", enum=Kind.values),
            _param("live", bool, "Only live (true) or not live (false) incidents."),
        ],
    ),
    retrieve=extend_schema(summary="One incident with its checklist"),
    create=extend_schema(
        summary="Open a draft incident from a playbook (admins and commanders)",
        description="Nothing is sent. See who it reaches with /audience/, then activate it with the "
        "`activate` transition.",
        request=s.IncidentCreateSerializer,
        responses={201: s.IncidentSerializer},
    ),
)
class IncidentViewSet(
    CandorViewMixin, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.IncidentSerializer
    action_roles = {"create": RUNNERS, "transition": RUNNERS}

    def get_queryset(self):
        if self.is_schema_generation:
            return Incident.objects.none()
        incidents = incident_list(user=self.request.user).prefetch_related("affected_clients", "checklist")
        if self.action == "list":
            state = self.request.query_params.get("state")
            if state:
                incidents = incidents.filter(state=state)
            kind = self.choice_param("kind", Kind.values)
            if kind:
                incidents = incidents.filter(kind=kind)
            live = self.bool_param("live")
            if live is not None:
                incidents = (
                    incidents.filter(state__in=LIVE_STATES) if live else incidents.exclude(state__in=LIVE_STATES)
                )
        return incidents

    def create(self, request):
        form = s.IncidentCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = form.validated_data
        incident = incident_create(
            playbook=data["playbook"],
            actor=request.user,
            title=data["title"],
            severity=data.get("severity"),
            summary=data.get("summary", ""),
            backup_commander=data.get("backup_commander"),
            detected_at=data.get("detected_at"),
            affected_clients=data.get("affected_clients", []),
            affected_tags=data.get("affected_tags", []),
            affected_countries=data.get("affected_countries", []),
        )
        incident = self.get_queryset().get(pk=incident.pk)
        return Response(self.get_serializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The transitions you may perform now", responses={200: s.TransitionSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def transitions(self, request, pk=None):
        incident = self.get_object()
        available = transitions_available(incident=incident, user=request.user)
        return Response(
            s.TransitionSerializer(
                [
                    {
                        "name": t.name,
                        "label": t.label,
                        "target": t.target,
                        "needs": list(t.needs),
                        "waits_for": t.waits_for,
                    }
                    for t in available
                ],
                many=True,
            ).data
        )

    @extend_schema(
        summary="Perform a transition (admins and commanders)",
        description="409 when the transition is not possible from the incident's state now (or another "
        "commander moved it first); the answer names the state.",
        request=s.TransitionRequestSerializer,
        responses={200: s.IncidentSerializer, 409: CONFLICT},
    )
    @transitions.mapping.post
    def transition(self, request, pk=None):
        incident = self.get_object()
        form = s.TransitionRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        incident_transition(
            incident=incident,
            name=data["transition"],
            actor=request.user,
            note=data["note"],
            resolution_summary=data.get("resolution_summary") or None,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(
        summary="Who the incident reaches and what its first update costs, before anything is sent",
        responses={200: s.AudiencePreviewSerializer},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def audience(self, request, pk=None):
        return Response(s.AudiencePreviewSerializer(audience_preview(incident=self.get_object())).data)

    @extend_schema(
        summary="The incident's timeline, oldest first", responses={200: s.TimelineEntrySerializer(many=True)}
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        entries = self.get_object().timeline.order_by("at", "id")
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(s.TimelineEntrySerializer(page, many=True).data)


# ---------------------------------------------------------------------------------------------
# Updates


UPDATE_STATUSES = ["draft", "published"]


@extend_schema_view(
    list=extend_schema(
        summary="Updates",
        parameters=[
            _param("incident", int, "Updates of this incident."),
            _param("status", str, "draft (not published) or published.", enum=UPDATE_STATUSES),
        ],
    ),
    retrieve=extend_schema(summary="One update with its words and delivery counts"),
    create=extend_schema(
        summary="Draft an update (admins, commanders, communicators)",
        description="Without texts, the playbook's words for the incident's stage are filled in.",
        request=s.UpdateCreateSerializer,
        responses={201: s.UpdateSerializer},
    ),
    partial_update=extend_schema(
        summary="Change part of a draft (admins, commanders, communicators)",
        description="Only the languages and fields named change; a language given as null is removed. "
        "Changing any words withdraws an approval. A published update answers 400.",
        request=s.UpdateEditSerializer,
        responses={200: s.UpdateSerializer},
    ),
    update=extend_schema(
        summary="Replace a draft's words (admins, commanders, communicators)",
        description="Languages left out are removed; a missing next_update_due_at clears the promise. "
        "Changing any words withdraws an approval. A published update answers 400.",
        request=s.UpdateReplaceSerializer,
        responses={200: s.UpdateSerializer},
    ),
)
class UpdateViewSet(
    CandorViewMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.UpdateSerializer
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    action_roles = {"create": TEAM, "update": TEAM, "partial_update": TEAM, "approve": RUNNERS, "publish": RUNNERS}

    def get_queryset(self):
        if self.is_schema_generation:
            return IncidentUpdate.objects.none()
        updates = update_list(user=self.request.user).order_by("-created_at", "-id")
        if self.action == "list":
            incident = self.int_param("incident")
            if incident is not None:
                updates = updates.filter(incident_id=incident)
            state = self.choice_param("status", UPDATE_STATUSES)
            if state:
                updates = updates.filter(published_at__isnull=state == "draft")
        return updates

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.action == "list":
            context["delivery_counts"] = s.DeliveryCountCache()
        return context

    def _answer(self, update, code=status.HTTP_200_OK):
        update = self.get_queryset().get(pk=update.pk)
        return Response(s.UpdateSerializer(update, context=self.get_serializer_context()).data, status=code)

    def create(self, request):
        form = s.UpdateCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = form.validated_data
        update = update_draft(
            incident=data["incident"],
            author=request.user,
            texts=data.get("texts"),
            next_update_due_at=data.get("next_update_due_at"),
            is_holding_statement=data["is_holding_statement"],
        )
        return self._answer(update, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        update = self.get_object()
        form = s.UpdateEditSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        changes = {}
        if "next_update_due_at" in form.validated_data:
            changes["next_update_due_at"] = form.validated_data["next_update_due_at"]
        update = update_edit(
            update=update, actor=request.user, text_changes=form.validated_data.get("texts"), **changes
        )
        return self._answer(update)

    def update(self, request, pk=None):
        update = self.get_object()
        form = s.UpdateReplaceSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        update = update_edit(
            update=update,
            actor=request.user,
            texts=form.validated_data["texts"],
            next_update_due_at=form.validated_data["next_update_due_at"],
        )
        return self._answer(update)

    @extend_schema(
        summary="Each language rendered for a sample reader, with counts and SMS size",
        responses={200: s.UpdatePreviewSerializer},
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        update = self.get_object()
        preview = update_preview(update=update, sample_timezone=update.incident.organization.timezone)
        preview["preflight"] = [] if update.is_published else [f.as_dict() for f in update_preflight(update=update)]
        samples = sample_previews(update=update, preview=preview)
        for language, row in preview["languages"].items():
            row.update({key: samples[language][key] for key in ("email_subject", "email_body", "sms_body", "reader")})
        estimate = sms_send_estimate(segments=preview["sms_segments_total"])
        preview["sms_send"] = {
            "segments_per_second": estimate.segments_per_second,
            "seconds": estimate.seconds,
            "duration": estimate.duration_text,
            "queue_limit_hours": estimate.queue_limit_hours,
            "exceeds_queue_limit": estimate.exceeds_queue_limit,
        }
        return Response(s.UpdatePreviewSerializer(preview).data)

    @extend_schema(
        summary="The preflight and the plain-language check: readability, long sentences, jargon, structure, "
        "the playbook's content rules",
        description="400 with field errors (texts, audience) when the preflight finds a blocking problem in "
        "any language and channel the audience would receive; otherwise its warnings under `preflight`.",
        responses={200: s.PlainLanguageCheckSerializer},
    )
    @action(detail=True, methods=["get"])
    def check(self, request, pk=None):
        update = self.get_object()
        findings = [] if update.is_published else update_preflight(update=update)
        refuse_if_blocked(findings)  # 400: the blocking findings as field errors
        checks = plain_language_check(update=update)
        return Response(
            s.PlainLanguageCheckSerializer(
                {
                    "warning_count": sum(len(check.warnings) for check in checks.values()),
                    "languages": {language: check.as_dict() for language, check in checks.items()},
                    "preflight": [finding.as_dict() for finding in findings],
                }
            ).data
        )

    @extend_schema(
        summary="Approve every language as it stands (admins and commanders; not the author)",
        request=s.ApproveSerializer,
        responses={200: s.UpdateSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        update = self.get_object()
        form = s.ApproveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._answer(update_approve(update=update, actor=request.user, note=form.validated_data["note"]))

    @extend_schema(
        summary="Publish to every affected contact (admins and commanders)",
        description="400 with field errors when the stage needs approval of the current words, or the "
        "preflight finds a blocking problem (unknown or empty variable, broken template, missing or foreign "
        "link, a promise without a time, an SMS over 4 segments, nobody to send it to). "
        "Publishing again changes nothing.",
        request=None,
        responses={200: s.UpdateSerializer},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._answer(update_publish(update=self.get_object(), actor=request.user))


# ---------------------------------------------------------------------------------------------
# Messages


@extend_schema_view(
    list=extend_schema(
        summary="Messages to contacts, oldest first",
        parameters=[
            _param("status", str, "Messages in this status.", enum=MessageStatus.values),
            _param("channel", str, "email or sms.", enum=Channel.values),
            _param("update", int, "Messages carrying this update."),
            _param("incident", int, "Messages about this incident."),
        ],
    ),
    retrieve=extend_schema(summary="One message"),
)
class MessageViewSet(CandorViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.MessageSerializer

    def get_queryset(self):
        if self.is_schema_generation:
            return Message.objects.none()
        if self.action != "list":
            return message_list(organization=self.organization)
        update = self.int_param("update")
        incident = self.int_param("incident")
        return message_list(
            organization=self.organization,
            status=self.choice_param("status", MessageStatus.values),
            channel=self.choice_param("channel", Channel.values),
            source=f"update:{update}" if update is not None else None,
            topic=incident_topic(incident) if incident is not None else None,
        )


# ---------------------------------------------------------------------------------------------
# Tokens and unknown addresses


@extend_schema(summary="Exchange a username and password for an API token")
class TokenView(ObtainAuthToken):
    schema = CandorAutoSchema()
    throttle_classes = [TokenRateThrottle]

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        finally:
            # django-axes marks the request it authenticated: DRF's wrapper, not the one its
            # middleware answers; hand the mark on so a locked-out caller gets the 429.
            if getattr(request, "axes_locked_out", False):
                request._request.axes_locked_out = True


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
@schema(None)
def not_found(request, path=""):
    """Unknown addresses under /api/ answer in JSON like the rest of the API."""
    return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
