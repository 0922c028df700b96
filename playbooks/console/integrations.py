"""The console's integrations page: webhook endpoints and team channels with their recent deliveries and
last errors, and a button to send a failed webhook delivery again."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from comms.models import WebhookDelivery
from comms.outgoing_webhooks.services import webhook_delivery_retry
from playbooks.console.decorators import member_required
from playbooks.integrations.events import EVENT_TYPES
from playbooks.integrations.selectors import (
    team_channels_with_recent,
    webhook_delivery_get,
    webhook_endpoints_with_recent,
)

MANAGERS = (Role.ADMIN, Role.COMMANDER)


@member_required(roles=MANAGERS)
def integrations_view(request):
    organization = request.user.organization
    return render(
        request,
        "playbooks/integrations/integrations.html",
        {
            "endpoints": webhook_endpoints_with_recent(organization=organization),
            "team_channels": team_channels_with_recent(organization=organization),
            "event_types": EVENT_TYPES,
        },
    )


@require_POST
@member_required(roles=MANAGERS)
def webhook_delivery_retry_view(request, pk):
    try:
        delivery = webhook_delivery_get(organization=request.user.organization, pk=pk)
    except WebhookDelivery.DoesNotExist as exc:
        raise Http404 from exc
    if webhook_delivery_retry(delivery=delivery):
        messages.success(
            request,
            _("%(event)s to %(endpoint)s will be sent again now.")
            % {"event": delivery.event_type, "endpoint": delivery.endpoint.name},
        )
    else:
        messages.info(request, _("Only a failed delivery can be sent again."))
    return redirect("integrations")
