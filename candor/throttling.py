"""Rate limits that answer 429 with Retry-After: django-axes' login lockout response, DRF's API
throttles, and a cache counter for the endpoints without a login (alerts, signed client links).

Limits are settings (CANDOR_RATE_LIMITS, AXES_*, REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]).
"""

import functools
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate):
    """'60/minute' as (60, 60 seconds), as DRF reads its rates."""
    count, period = rate.split("/")
    return int(count), PERIODS[period[0]]


def client_ip(request):
    return request.META.get("REMOTE_ADDR", "")


def _retry_after(scope, key, limit, seconds):
    """Count one request against `key` in the current window; the seconds to wait, or 0."""
    window = int(time.time() // seconds)
    cache_key = f"rate:{scope}:{key}:{window}"
    cache.add(cache_key, 0, timeout=seconds + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: a fresh window
        cache.set(cache_key, 1, timeout=seconds + 1)
        count = 1
    if count <= limit:
        return 0
    return max(1, math.ceil((window + 1) * seconds - time.time()))


def too_many(retry_after, detail):
    response = JsonResponse({"detail": detail, "retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def rate_limited(scope, *, per_argument=None):
    """Limit a view per client IP, and (with `per_argument`) per value of that URL argument too,
    so one endpoint or link cannot be hammered from many addresses either."""

    def decorate(view):
        @functools.wraps(view)
        def limited(request, *args, **kwargs):
            rate = settings.CANDOR_RATE_LIMITS.get(scope)
            if rate:
                limit, seconds = parse_rate(rate)
                keys = [f"ip:{client_ip(request)}"]
                if per_argument:
                    keys.append(f"{per_argument}:{kwargs.get(per_argument)}")
                wait = max(_retry_after(scope, key, limit, seconds) for key in keys)
                if wait:
                    return too_many(wait, f"Too many requests; retry in {wait} seconds.")
            return view(request, *args, **kwargs)

        return limited

    return decorate


def login_lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login (console or API token): 429 with Retry-After."""
    cool_off = settings.AXES_COOLOFF_TIME
    seconds = int(cool_off.total_seconds()) if cool_off else 3600
    message = f"Too many failed sign-ins; try again in {math.ceil(seconds / 60)} minutes."
    if request.path.startswith("/api/"):
        return too_many(seconds, message)
    response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response


class TokenRateThrottle(AnonRateThrottle):
    """Token requests per client IP (the caller has no token yet)."""

    scope = "token"


class WriteRateThrottle(UserRateThrottle):
    """API writes per member; reads are not limited."""

    scope = "api_writes"

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
