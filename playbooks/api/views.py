"""REST API views: thin, scoped to the caller's organisation, calling the same services as the console.

Errors: bad input is 400 with field errors, a refused or lost transition 409 naming the state now,
a role that may not act 403, and another organisation's object 404.
"""

import dataclasses
import datetime as dt
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, ProtectedError, Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action, api_view, permission_classes, schema
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts.importing import import_job_start
from accounts.models import ClientAccount, Contact, ImportJob
from candor.helpers import csv_writer
from candor.throttling import TokenRateThrottle, WriteRateThrottle
from comms.models import Channel, Message, MessageStatus
from comms.rendering import MessageTemplateError
from comms.selectors import message_list
from playbooks.acknowledgements.services import acknowledgement_status
from playbooks.alerts.services import alert_confirm, alert_dismiss, alert_list
from playbooks.api import serializers as s
from playbooks.api.permissions import ADMINS, EVERYONE, RUNNERS, TEAM, RolePermission
from playbooks.as_code.format import PLAYBOOK_SCHEMA
from playbooks.as_code.services import PlaybookImportError, playbook_export, playbook_import
from playbooks.console.selectors import transitions_available, update_list
from playbooks.debriefs import services as debriefs
from playbooks.incidents.selectors import incident_list, playbook_list
from playbooks.incidents.services import (
    TransitionRefused,
    checklist_item_complete,
    checklist_item_reopen,
    incident_create,
    incident_edit,
    incident_transition,
)
from playbooks.incidents.topics import incident_topic
from playbooks.leadership.metrics import (
    incident_figures,
    leadership_overview,
    proof_csv_rows,
    proof_of_notification,
    totals_figures,
)
from playbooks.leadership.views import PERIODS
from playbooks.models import (
    LIVE_STATES,
    AlertStatus,
    Debrief,
    DebriefActionItem,
    FollowUp,
    InboundAlert,
    Incident,
    IncidentChecklistItem,
    IncidentUpdate,
    Kind,
    Playbook,
    SurveyResponse,
    UpdateImmutable,
)
from playbooks.updates.plain_language import plain_language_check
from playbooks.updates.preflight import refuse_if_blocked
from playbooks.updates.preview import audience_preview, sample_previews, sms_send_estimate
from playbooks.updates.scope import incident_make_public, incident_scope_change, scope_change_preview
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
    """Pages of 50 by default. A page or page size that is not one whole number in range is a 400
    naming the parameter (DRF's default silently falls back to 50, hiding the caller's mistake)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def _whole_number(self, request, name, maximum=None):
        values = request.query_params.getlist(name)
        if not values:
            return None
        if len(values) > 1 or not re.fullmatch(r"[0-9]{1,9}", values[0]) or int(values[0]) < 1:
            raise ValidationError({name: [_("Give one whole number, 1 or more.")]})
        if maximum is not None and int(values[0]) > maximum:
            raise ValidationError({name: [_("At most %(maximum)s.") % {"maximum": maximum}]})
        return int(values[0])

    def get_page_size(self, request):
        return self._whole_number(request, self.page_size_query_param, self.max_page_size) or self.page_size

    def paginate_queryset(self, queryset, request, view=None):
        self._whole_number(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            parameter["schema"]["maximum"] = (
                self.max_page_size if parameter["name"] == self.page_size_query_param else 999_999_999
            )
        return parameters


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
            exc = Conflict({"detail": str(exc), "state": exc.state, "missing": exc.missing})
        elif isinstance(exc, UpdateImmutable):
            exc = Conflict({"detail": str(exc), "state": None, "missing": []})
        elif isinstance(exc, ProtectedError):
            exc = Conflict(
                {
                    "detail": _("Messages were sent to it, so it cannot be deleted; deactivate it instead."),
                    "state": None,
                    "missing": [],
                }
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
            raise ValidationError({name: [_("A whole number.")]})
        return int(value)

    def bool_param(self, name):
        value = self.request.query_params.get(name)
        if value in (None, ""):
            return None
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValidationError({name: [_("true or false.")]})
        return value.lower() in ("true", "1")

    def choice_param(self, name, choices):
        value = self.request.query_params.get(name)
        if value in (None, ""):
            return None
        if value not in choices:
            raise ValidationError({name: [_("One of: %(choices)s.") % {"choices": ", ".join(choices)}]})
        return value


# The ids int_param reads: up to 18 digits, never negative.
ID_PARAMETER = {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}


def _param(name, type_, description, enum=None):
    type_ = ID_PARAMETER if type_ is int else type_
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
    action_roles = {"import_file": ADMINS}

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

    @extend_schema(
        summary="The playbook as a YAML file (format candor-playbook/1), to edit and import again",
        # The YAML document's structure is the playbook format's JSON Schema (YAML reads as JSON does).
        responses={
            (200, "application/yaml"): OpenApiResponse(
                {key: value for key, value in PLAYBOOK_SCHEMA.items() if not key.startswith("$")},
                description="The YAML document, in the structure of /api/playbooks/schema.json.",
            )
        },
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def export(self, request, pk=None):
        playbook = self.get_object()
        response = HttpResponse(playbook_export(playbook=playbook), content_type="application/yaml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{playbook.slug}.yaml"'
        return response

    @extend_schema(
        summary="Create or update a playbook from its YAML file (admins)",
        description="Everything is checked first: with any problem the answer is 400 listing every one with its "
        "path in the file, and nothing changes. A file that says what the playbook already says changes nothing "
        "and keeps the version; otherwise the version goes up by one. With dry_run, nothing changes and the "
        "answer carries the diff against the current version.",
        request=s.PlaybookImportSerializer,
        responses={
            200: s.PlaybookImportResultSerializer,
            201: s.PlaybookImportResultSerializer,
            400: OpenApiResponse(
                s.PlaybookImportErrorsSerializer, description="Problems in the file, or field errors."
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="import", pagination_class=None)
    def import_file(self, request):
        form = s.PlaybookImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            result = playbook_import(
                organization=self.organization, text=form.validated_data["file"], dry_run=form.validated_data["dry_run"]
            )
        except PlaybookImportError as error:
            return Response(
                s.PlaybookImportErrorsSerializer({"problems": error.problems}).data, status=status.HTTP_400_BAD_REQUEST
            )
        answer = {
            "slug": result.slug,
            "playbook": result.playbook.pk if result.playbook else None,
            "created": result.created,
            "changed": result.changed,
            "version": result.version,
            "dry_run": result.dry_run,
            "diff": result.diff,
        }
        created = result.created and not result.dry_run
        return Response(
            s.PlaybookImportResultSerializer(answer).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


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
        "import_job": RUNNERS,
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
        summary="Import clients and contacts from CSV in the background (admins and commanders)",
        description="The file is kept and imported by a background task: 202 with the job, whose url "
        "shows its progress and then the per-row report. Every row is checked first; with errors nothing "
        "is written unless import_valid_rows is set. A dry run writes nothing.",
        request={"multipart/form-data": s.ContactImportSerializer},
        responses={202: s.ImportJobSerializer, 400: OpenApiResponse(OpenApiTypes.OBJECT, description="Field errors.")},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_csv(self, request):
        form = s.ContactImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        job = import_job_start(
            organization=self.organization,
            actor=request.user,
            csv_file=upload.read(),
            file_name=upload.name or "",
            dry_run=form.validated_data["dry_run"],
            import_valid_rows=form.validated_data["import_valid_rows"],
        )
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="A background import: its status, then its report",
        responses={200: s.ImportJobSerializer, 404: OpenApiResponse(description="No such import.")},
    )
    @action(detail=False, methods=["get"], url_path="import/<int:job_id>")
    def import_job(self, request, job_id):
        job = ImportJob.objects.filter(pk=job_id, organization_id=self.request.user.organization_id).first()
        if job is None:
            raise NotFound("No such import.")
        return Response(s.ImportJobSerializer(job).data)


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
    action_roles = {
        "create": RUNNERS,
        "transition": RUNNERS,
        "partial_update": RUNNERS,
        "scope": RUNNERS,
        "public": RUNNERS,
        "checklist_complete": TEAM,
        "checklist_reopen": TEAM,
        "debrief_edit": TEAM,
        "debrief_complete": TEAM,
        "debrief_reopen": TEAM,
        "debrief_action_add": TEAM,
        "debrief_action_edit": TEAM,
        "debrief_action_remove": TEAM,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

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

    @extend_schema(
        summary="The transitions you may perform from the state now, ready or still waiting",
        description="Every step from the incident's state that your role may take. `ready` says whether it "
        "can be taken now (given the inputs in `needs`); `missing` names what it still waits for, such as a "
        "complete debrief. Before the incident is closed or cancelled, a commander's list is never empty.",
        responses={200: s.TransitionSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def transitions(self, request, pk=None):
        incident = self.get_object()
        available = transitions_available(incident=incident, user=request.user, include_waiting=True)
        return Response(
            s.TransitionSerializer(
                [
                    {
                        "name": t.name,
                        "label": t.label,
                        "target": t.target,
                        "needs": list(t.needs),
                        "ready": t.is_ready,
                        "missing": list(t.missing),
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
        "commander moved it first); the answer names the state and, in `missing`, what the step still waits for.",
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
        summary="Change who the incident affects (admins and commanders)",
        description="Each list given replaces the current one; a list left out is kept. The answer names the "
        "clients and contacts added and removed; contacts newly in scope receive the latest published update. "
        "With dry_run nothing changes. Every change is on the timeline.",
        request=s.IncidentScopeSerializer,
        responses={200: s.ScopeChangeSerializer},
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def scope(self, request, pk=None):
        incident = self.get_object()
        form = s.IncidentScopeSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = form.validated_data
        scope = {
            "clients": data.get("affected_clients", list(incident.affected_clients.all())),
            "tags": data.get("affected_tags", incident.affected_tags),
            "countries": data.get("affected_countries", incident.affected_countries),
        }
        queued = 0
        if data["dry_run"]:
            diff = scope_change_preview(incident=incident, **scope)
        else:
            diff, queued = incident_scope_change(incident=incident, actor=request.user, **scope)
        answer = {
            "dry_run": data["dry_run"],
            **diff.as_dict(),
            "messages_queued": queued,
            "incident": self.get_serializer(self.get_queryset().get(pk=incident.pk)).data,
        }
        return Response(answer)

    @extend_schema(
        summary="Show the incident on the public status page, or take it off (admins and commanders)",
        request=s.IncidentPublicSerializer,
        responses={200: s.IncidentSerializer},
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def public(self, request, pk=None):
        incident = self.get_object()
        form = s.IncidentPublicSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        incident_make_public(incident=incident, actor=request.user, is_public=form.validated_data["is_public"])
        return Response(self.get_serializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(
        summary="What clients were asked to confirm, and who did (when and how); pending first",
        responses={200: s.AcknowledgementSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def acknowledgements(self, request, pk=None):
        statuses = acknowledgement_status(incident=self.get_object())
        rows = [{**dataclasses.asdict(status), "is_confirmed": status.is_confirmed} for status in statuses]
        return Response(s.AcknowledgementSerializer(rows, many=True).data)

    @extend_schema(
        summary="The incident's timeline, oldest first", responses={200: s.TimelineEntrySerializer(many=True)}
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        entries = self.get_object().timeline.order_by("at", "id")
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(s.TimelineEntrySerializer(page, many=True).data)

    # ---- Editing

    @extend_schema(
        summary="Change the title, summary, severity, backup commander or public flag (admins and commanders)",
        description="Only the fields given change; the change is written on the timeline. 409 once the incident "
        "is closed or cancelled.",
        request=s.IncidentEditSerializer,
        responses={200: s.IncidentSerializer, 409: CONFLICT},
    )
    def partial_update(self, request, pk=None):
        incident = self.get_object()
        form = s.IncidentEditSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        incident_edit(incident=incident, actor=request.user, **form.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=incident.pk)).data)

    # ---- Checklist

    def _checklist_item(self, item_id):
        return get_object_or_404(IncidentChecklistItem, pk=item_id, incident=self.get_object())

    def _incident_answer(self, incident_id):
        return Response(self.get_serializer(self.get_queryset().get(pk=incident_id)).data)

    @extend_schema(
        summary="Tick a checklist item off, with a note (admins, commanders, communicators)",
        description="400 when it is already done or the incident is closed.",
        request=s.NoteSerializer,
        responses={200: s.ChecklistItemSerializer},
    )
    @action(detail=True, methods=["post"], url_path="checklist/<int:item_id>/complete")
    def checklist_complete(self, request, pk=None, item_id=None):
        item = self._checklist_item(item_id)
        form = s.NoteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        item = checklist_item_complete(item=item, actor=request.user, note=form.validated_data["note"])
        return Response(s.ChecklistItemSerializer(item).data)

    @extend_schema(
        summary="Take the tick off a checklist item again, saying why (admins, commanders, communicators)",
        description="400 when it is not done or the incident is closed.",
        request=s.NoteSerializer,
        responses={200: s.ChecklistItemSerializer},
    )
    @action(detail=True, methods=["post"], url_path="checklist/<int:item_id>/reopen")
    def checklist_reopen(self, request, pk=None, item_id=None):
        item = self._checklist_item(item_id)
        form = s.NoteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        item = checklist_item_reopen(item=item, actor=request.user, note=form.validated_data["note"])
        return Response(s.ChecklistItemSerializer(item).data)

    # ---- The internal debrief

    def _debrief_answer(self, incident):
        debrief = Debrief.objects.prefetch_related("action_items").get(incident=incident)
        return Response(s.DebriefSerializer(debrief).data)

    @extend_schema(
        summary="The internal debrief, with its action items",
        description="Opened with the timeline as “what happened” the first time it is read.",
        responses={200: s.DebriefSerializer},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def debrief(self, request, pk=None):
        incident = self.get_object()
        debriefs.debrief_get_or_open(incident=incident)
        return self._debrief_answer(incident)

    @extend_schema(
        summary="Write the debrief (admins, commanders, communicators)",
        description="Only the fields given change. A complete debrief cannot have them emptied (400); "
        "a closed incident's debrief cannot change (400).",
        request=s.DebriefEditSerializer,
        responses={200: s.DebriefSerializer},
    )
    @debrief.mapping.patch
    def debrief_edit(self, request, pk=None):
        incident = self.get_object()
        form = s.DebriefEditSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        debrief = debriefs.debrief_get_or_open(incident=incident)
        words = {name: getattr(debrief, name) for name in ("what_happened", "went_well", "went_badly")}
        words.update(form.validated_data)
        debriefs.debrief_save(debrief=debrief, actor=request.user, **words)
        return self._debrief_answer(incident)

    @extend_schema(
        summary="Mark the debrief complete: the incident can then close (admins, commanders, communicators)",
        description="400 naming what is still unwritten.",
        request=None,
        responses={200: s.DebriefSerializer},
    )
    @action(detail=True, methods=["post"], url_path="debrief/complete")
    def debrief_complete(self, request, pk=None):
        incident = self.get_object()
        debriefs.debrief_complete(debrief=debriefs.debrief_get_or_open(incident=incident), actor=request.user)
        return self._debrief_answer(incident)

    @extend_schema(
        summary="Take the complete mark off the debrief (admins, commanders, communicators)",
        request=None,
        responses={200: s.DebriefSerializer},
    )
    @action(detail=True, methods=["post"], url_path="debrief/reopen")
    def debrief_reopen(self, request, pk=None):
        incident = self.get_object()
        debriefs.debrief_reopen(debrief=debriefs.debrief_get_or_open(incident=incident), actor=request.user)
        return self._debrief_answer(incident)

    @extend_schema(
        summary="Add an action item with an owner and a due date (admins, commanders, communicators)",
        request=s.DebriefActionItemCreateSerializer,
        responses={201: s.DebriefActionItemSerializer},
    )
    @action(detail=True, methods=["post"], url_path="debrief/action-items")
    def debrief_action_add(self, request, pk=None):
        incident = self.get_object()
        form = s.DebriefActionItemCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        item = debriefs.debrief_action_add(
            debrief=debriefs.debrief_get_or_open(incident=incident), actor=request.user, **form.validated_data
        )
        return Response(s.DebriefActionItemSerializer(item).data, status=status.HTTP_201_CREATED)

    def _action_item(self, item_id):
        return get_object_or_404(
            DebriefActionItem.objects.select_related("debrief"), pk=item_id, debrief__incident=self.get_object()
        )

    @extend_schema(
        summary="Tick an action item off or back on (admins, commanders, communicators)",
        request=s.DebriefActionItemEditSerializer,
        responses={200: s.DebriefActionItemSerializer},
    )
    @action(detail=True, methods=["patch"], url_path="debrief/action-items/<int:item_id>")
    def debrief_action_edit(self, request, pk=None, item_id=None):
        item = self._action_item(item_id)
        form = s.DebriefActionItemEditSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        item = debriefs.debrief_action_done(item=item, actor=request.user, done=form.validated_data["is_done"])
        return Response(s.DebriefActionItemSerializer(item).data)

    @extend_schema(
        summary="Remove an action item (admins, commanders, communicators)", request=None, responses={204: None}
    )
    @debrief_action_edit.mapping.delete
    def debrief_action_remove(self, request, pk=None, item_id=None):
        debriefs.debrief_action_remove(item=self._action_item(item_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # ---- After the crisis: survey answers, proof of notification

    @extend_schema(
        summary="What the incident's clients answered in the survey, first answers first",
        responses={200: s.SurveyResponseSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="survey-responses")
    def survey_responses(self, request, pk=None):
        responses = (
            SurveyResponse.objects.filter(incident=self.get_object())
            .select_related("client", "invitation__contact")
            .order_by("first_answered_at", "id")
        )
        page = self.paginate_queryset(responses)
        return self.get_paginated_response(s.SurveyResponseSerializer(page, many=True).data)

    @extend_schema(
        summary="Proof of notification: every affected contact, every message, its outcome; acknowledgements",
        responses={200: s.ProofSerializer},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def proof(self, request, pk=None):
        return Response(s.ProofSerializer(proof_of_notification(incident=self.get_object())).data)

    @extend_schema(
        summary="Proof of notification as CSV, one row per message",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="UTF-8 CSV with a header row.")},
    )
    @action(detail=True, methods=["get"], url_path="proof/csv", pagination_class=None)
    def proof_csv(self, request, pk=None):
        incident = self.get_object()
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="proof-of-notification-incident-{incident.pk}.csv"'
        writer = csv_writer(response)
        for row in proof_csv_rows(proof_of_notification(incident=incident)):
            writer.writerow(row)
        return response


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
# Monitoring alerts


ALERT_STATUSES = list(AlertStatus.values)


def _alert_decided(alert):
    return Conflict(
        {
            "detail": _("This alert is already decided: “%(status)s”.") % {"status": alert.get_status_display()},
            "state": alert.incident.state if alert.incident_id else None,
            "missing": [],
        }
    )


@extend_schema_view(
    list=extend_schema(
        summary="Alerts from monitoring, newest first",
        parameters=[_param("status", str, "Alerts in this status.", enum=ALERT_STATUSES)],
    ),
    retrieve=extend_schema(summary="One alert"),
)
class AlertViewSet(CandorViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.AlertSerializer
    action_roles = {"confirm": RUNNERS, "dismiss": RUNNERS}

    def get_queryset(self):
        if self.is_schema_generation:
            return InboundAlert.objects.none()
        status_filter = self.choice_param("status", ALERT_STATUSES) if self.action == "list" else None
        return alert_list(organization=self.organization, status=status_filter).order_by("-last_received_at", "-id")

    def _decide(self, request, service):
        alert = self.get_object()
        if not alert.is_open:
            raise _alert_decided(alert)
        form = s.NoteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        alert = service(alert=alert, actor=request.user, note=form.validated_data["note"])
        return Response(s.AlertSerializer(self.get_queryset().get(pk=alert.pk)).data)

    @extend_schema(
        summary="Confirm the problem: its draft incident is activated (admins and commanders)",
        description="No update is sent: publish the first one next. 409 when the alert was already decided.",
        request=s.NoteSerializer,
        responses={200: s.AlertSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._decide(request, alert_confirm)

    @extend_schema(
        summary="Dismiss a false alarm: its draft incident is cancelled (admins and commanders)",
        description="409 when the alert was already decided.",
        request=s.NoteSerializer,
        responses={200: s.AlertSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        return self._decide(request, alert_dismiss)


# ---------------------------------------------------------------------------------------------
# Follow-ups


@extend_schema_view(
    list=extend_schema(
        summary="Follow-ups opened by low survey scores: open ones first, soonest due first",
        parameters=[
            _param("incident", int, "Follow-ups of this incident."),
            _param("is_open", bool, "Only open (true) or closed (false) follow-ups."),
            _param("mine", bool, "Only those you own."),
        ],
    ),
    retrieve=extend_schema(summary="One follow-up"),
)
class FollowUpViewSet(CandorViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.FollowUpSerializer
    action_roles = {"assign": RUNNERS, "close": EVERYONE}

    def get_queryset(self):
        if self.is_schema_generation:
            return FollowUp.objects.none()
        follow_ups = (
            FollowUp.objects.filter(incident__organization_id=self.request.user.organization_id)
            .select_related("incident", "client")
            .order_by(F("closed_at").desc(nulls_first=True), "due_at", "id")
        )
        if self.action == "list":
            incident = self.int_param("incident")
            if incident is not None:
                follow_ups = follow_ups.filter(incident_id=incident)
            is_open = self.bool_param("is_open")
            if is_open is not None:
                follow_ups = follow_ups.filter(closed_at__isnull=is_open)
            if self.bool_param("mine"):
                follow_ups = follow_ups.filter(owner=self.request.user)
        return follow_ups

    @extend_schema(
        summary="Hand the follow-up to another member, who is told (admins and commanders)",
        request=s.FollowUpAssignSerializer,
        responses={200: s.FollowUpSerializer},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        follow_up = self.get_object()
        form = s.FollowUpAssignSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        follow_up = debriefs.follow_up_assign(follow_up=follow_up, actor=request.user, **form.validated_data)
        return Response(s.FollowUpSerializer(self.get_queryset().get(pk=follow_up.pk)).data)

    @extend_schema(
        summary="Close the follow-up with a note of what was done (its owner, commanders and admins)",
        request=s.FollowUpCloseSerializer,
        responses={200: s.FollowUpSerializer},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        follow_up = self.get_object()
        form = s.FollowUpCloseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        follow_up = debriefs.follow_up_close(follow_up=follow_up, actor=request.user, **form.validated_data)
        return Response(s.FollowUpSerializer(self.get_queryset().get(pk=follow_up.pk)).data)


# ---------------------------------------------------------------------------------------------
# Leadership figures


class LeadershipView(CandorViewMixin, GenericAPIView):
    serializer_class = s.LeadershipSerializer
    pagination_class = None

    @extend_schema(
        summary="The leadership figures: all incidents, by kind, by client country, by month, and each incident "
        "with its clients",
        description="The same numbers as the leadership page. Shares are 0-1; averages and shares are null when "
        "there was nothing to count.",
        parameters=[_param("months", str, "The period: the last 3, 12 or 36 months, or all.", enum=list(PERIODS))],
        responses={200: s.LeadershipSerializer},
    )
    def get(self, request):
        months = self.choice_param("months", list(PERIODS)) or "12"
        since = timezone.now() - dt.timedelta(days=31 * PERIODS[months]) if PERIODS[months] else None
        overview = leadership_overview(organization=self.organization, since=since)
        return Response(
            s.LeadershipSerializer(
                {
                    "months": months,
                    "since": since,
                    "total": totals_figures(overview.total),
                    "by_kind": [totals_figures(totals) for totals in overview.by_kind],
                    "by_country": [totals_figures(totals) for totals in overview.by_country],
                    "by_month": [totals_figures(totals) for totals in overview.by_month],
                    "incidents": [incident_figures(figures) for figures in overview.metrics],
                }
            ).data
        )


@extend_schema(
    summary="The JSON Schema of the playbook file format, for editors",
    responses={(200, "application/schema+json"): OpenApiResponse(OpenApiTypes.OBJECT)},
)
@api_view(["GET"])
@permission_classes([AllowAny])
@schema(CandorAutoSchema())
def playbook_file_schema(request):
    """Public: it describes a file format, nothing of any organisation."""
    return JsonResponse(PLAYBOOK_SCHEMA, content_type="application/schema+json")


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
