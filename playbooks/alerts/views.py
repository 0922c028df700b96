"""The inbound alert endpoint for monitoring: POST /alerts/<endpoint id>/ with a bearer secret."""

import json

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from playbooks.alerts.services import alert_receive
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
