"""Monitoring alerts: the inbound endpoint (POST /alerts/<endpoint id>/ with a bearer secret), and the
commander's decision on an alert from the console (confirm its draft incident or dismiss it)."""

import json

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from playbooks.alerts.services import alert_confirm, alert_dismiss, alert_list, alert_receive
from playbooks.console.decorators import member_required
from playbooks.models import AlertEndpoint, secret_digest

# Compared against when the endpoint does not exist, so both failures take the same time.
_NO_SECRET = secret_digest("no endpoint")


def _error(status, detail, **extra):
    response = JsonResponse({"detail": detail, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="candor-alerts"'
    return response


@csrf_exempt
@require_POST
def alert_receive_view(request, endpoint_id):
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return _error(401, "Send the endpoint's secret as 'Authorization: Bearer <secret>'.")
    endpoint = AlertEndpoint.objects.filter(pk=endpoint_id, is_active=True).first()
    if endpoint is None:
        AlertEndpoint(secret_hash=_NO_SECRET).check_secret(secret)
        return _error(403, "Unknown endpoint or wrong secret.")
    if not endpoint.check_secret(secret):
        return _error(403, "Unknown endpoint or wrong secret.")
    try:
        payload = json.loads(request.body or b"")
    except RequestDataTooBig:
        return _error(413, "The alert is too large.")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "The body is not valid JSON.", errors={"body": ["Send a JSON object."]})
    try:
        results = alert_receive(endpoint=endpoint, payload=payload)
    except ValidationError as exc:
        return _error(400, "The alert is not valid.", errors=exc.message_dict)
    return JsonResponse(
        {
            "alerts": [
                {
                    "result": result,
                    "id": alert.pk if alert else None,
                    "fingerprint": alert.fingerprint if alert else None,
                    "status": alert.status if alert else None,
                    "count": alert.count if alert else None,
                    "incident": alert.incident_id if alert else None,
                }
                for alert, result in results
            ]
        },
        status=202,
    )


@member_required
@require_POST
def alert_decide(request, pk, decision):
    """Confirm an alert from monitoring (its draft incident is activated) or dismiss it."""
    alert = get_object_or_404(alert_list(organization=request.user.organization), pk=pk)
    note = (request.POST.get("note") or "")[:2000]
    decide = {"confirm": alert_confirm, "dismiss": alert_dismiss}.get(decision)
    if decide is None:
        raise Http404("No such decision.")
    try:
        alert = decide(alert=alert, actor=request.user, note=note)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("incident_list")
    if decision == "confirm":
        messages.success(
            request, "Confirmed: the incident is active. Nothing was sent: draft and publish the first update."
        )
        return redirect("incident_detail", pk=alert.incident_id)
    messages.success(request, f"Dismissed “{alert.title}”.")
    return redirect("incident_list")
