"""Per request: an id (the proxy's X-Request-ID, or a new one) on every log line written while
answering and on the response, one log line, and the latency histogram."""

import logging
import re
import time
import uuid

from candor.logging import request_id_var

from .metrics import HTTP_SECONDS

logger = logging.getLogger("candor.http")
ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# URL arguments that are secrets (a client's signed link, the inbound email webhook's secret): a
# log line names the route they were sent to, never the secret itself.
SECRET_URL_ARGUMENTS = ("token", "secret")


def loggable_path(request):
    path = request.path
    match = request.resolver_match
    for name in SECRET_URL_ARGUMENTS:
        value = match.kwargs.get(name) if match else None
        if value:
            path = path.replace(str(value), f"<{name}>")
    return path


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request.id = given if ACCEPTABLE_REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request.id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            match = request.resolver_match
            route = (match.route or match.view_name) if match else "unmatched"
            HTTP_SECONDS.labels(request.method, route, f"{response.status_code // 100}xx").observe(seconds)
            response["X-Request-ID"] = request.id
            path = loggable_path(request)
            logger.info(
                "%s %s %s %.0f ms",
                request.method,
                path,
                response.status_code,
                seconds * 1000,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                    "route": route,
                },
            )
            return response
        finally:
            request_id_var.reset(token)
