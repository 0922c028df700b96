"""Candor's own middleware: the client's address behind the deployment's proxies, input no view
should have to survive (refused at one boundary with a 400 that says why), the
Content-Security-Policy per path, and the member's language and timezone.

NUL characters (PostgreSQL cannot store them) anywhere in the path, the query string or a form,
and JSON bodies over the size or nesting limits (a deep body exhausts the parser's recursion)
or carrying a NUL, for the API, the provider webhooks and the alert endpoint alike.
"""

import ipaddress
import json
import re
import zoneinfo

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.utils import timezone, translation

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def json_depth(body):
    """How deeply a JSON text nests, counted without parsing it (so without recursion)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _holds_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    return False


def input_problem(request):
    """Why the request cannot be read safely, or None."""
    if "\x00" in request.path or any(
        "\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values
    ):
        return "The address or query string contains a NUL character."
    content_type = request.content_type or ""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    if content_type in _FORM_TYPES:
        if any("\x00" in key or "\x00" in value for key, values in request.POST.lists() for value in values):
            return "A form field contains a NUL character."
        return None
    body = request.body
    if body.lstrip()[:1] not in (b"{", b"["):
        return None  # not JSON: the view says what it expected
    if len(body) > settings.CANDOR_JSON_MAX_BYTES:
        return f"The JSON body is larger than {settings.CANDOR_JSON_MAX_BYTES} bytes."
    if json_depth(body) > settings.CANDOR_JSON_MAX_DEPTH:
        return f"The JSON body nests deeper than {settings.CANDOR_JSON_MAX_DEPTH} levels."
    if b"\x00" in body:
        return "The JSON body contains a NUL character."
    if b"\\u0000" in body:
        try:
            if _holds_nul(json.loads(body)):
                return "The JSON body contains a NUL character."
        except ValueError:
            return None  # not valid JSON: the view says so
    return None


def forwarded_client_address(remote_addr, forwarded_for, trusted_proxies):
    """The client's address as the outermost of `trusted_proxies` proxies saw it.

    Each proxy appends the address it received the request from to X-Forwarded-For (nginx's
    $proxy_add_x_forwarded_for), so the last `trusted_proxies` entries were written by our own
    proxies and the one they name first is the client; anything left of it was sent by the client
    and may be forged. With no trusted proxy, or a header shorter than the chain, the peer's
    address stands."""
    if trusted_proxies <= 0 or not forwarded_for:
        return remote_addr
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    if len(hops) < trusted_proxies:
        return remote_addr
    candidate = hops[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr


class TrustedProxyMiddleware:
    """Behind CANDOR_TRUSTED_PROXIES reverse proxies, REMOTE_ADDR becomes the client's address, so
    every per-address limit (django-axes' lockout, DRF's throttles, the client-link and alert
    limits) counts each client on their own instead of every client as the proxy's one address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if trusted_proxies := settings.CANDOR_TRUSTED_PROXIES:
            request.META["REMOTE_ADDR"] = forwarded_client_address(
                request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""), trusted_proxies
            )
        return self.get_response(request)


class InputSanityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = input_problem(request)
        if problem:
            return JsonResponse({"detail": problem}, status=400)
        return self.get_response(request)


# What a view may set on its response to change the policy (django-csp's decorators).
_CSP_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_CSP_SETTINGS = ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY", "CANDOR_CSP_RELAXED_PATHS")
# The headers of a response without a nonce or a view's own policy, by what they depend on.
_csp_static_headers = {}


@receiver(setting_changed)
def _csp_settings_changed(setting, **kwargs):
    if setting in _CSP_SETTINGS:
        _csp_static_headers.clear()


def _excluded(path, setting):
    return path.startswith(tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()))


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware with CONTENT_SECURITY_POLICY everywhere, and the additions of
    CANDOR_CSP_RELAXED_PATHS (admin, API docs) on their path prefixes only.

    Without a nonce or a view's own policy, a response's headers depend only on the settings and
    on which prefixes its path has: they are built once for each and reused (django-csp builds both
    policies from the settings for every response, a tenth of a status page's CPU)."""

    def _relaxed_prefix(self, request):
        for prefix in getattr(settings, "CANDOR_CSP_RELAXED_PATHS", {}):
            if request.path_info.startswith(prefix):
                return prefix
        return None

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        prefix = None if report_only else self._relaxed_prefix(request)
        if prefix is not None:
            parts.replace = {**settings.CANDOR_CSP_RELAXED_PATHS[prefix], **(parts.replace or {})}
        return parts

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, a) for a in _CSP_PER_RESPONSE):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (500, 404):
            return response  # Django's debug pages, left alone as django-csp leaves them
        path = request.path_info
        key = (
            self._relaxed_prefix(request),
            _excluded(path, "CONTENT_SECURITY_POLICY"),
            _excluded(path, "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        )
        headers = _csp_static_headers.get(key)
        if headers is None:
            built = super().process_response(request, HttpResponse())
            headers = _csp_static_headers[key] = {
                name: built[name] for name in (HEADER, HEADER_REPORT_ONLY) if name in built
            }
        for name, value in headers.items():
            exempt = getattr(response, "_csp_exempt" if name == HEADER else "_csp_exempt_ro", False)
            if name not in response and exempt is False:
                response[name] = value
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


def member_timezone(user):
    """The timezone a member reads times in: theirs, else their organisation's, else the site's."""
    organization = getattr(user, "organization", None)
    for name in (user.timezone, organization.timezone if organization else "", settings.TIME_ZONE):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue  # blank, or a name this system's tz database lacks: the next one
    return zoneinfo.ZoneInfo("UTC")


def member_language(user):
    """The member's console language if they chose one that the console speaks, else None (then
    LocaleMiddleware's choice from the browser stands)."""
    if not user.language:
        return None
    try:
        return translation.get_supported_language_variant(user.language)
    except LookupError:
        return None


class MemberLocaleMiddleware:
    """A logged-in member reads the console in their language (LocaleMiddleware has already picked
    the browser's, which stands when they chose none) with every time in their timezone.

    Client-facing pages (CANDOR_CLIENT_PAGE_PREFIXES: status pages, surveys, preferences) keep the
    contact's language and timezone even when a member opens them. Both are restored after the
    response, so nothing leaks into the next request served by the same thread.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or request.path_info.startswith(tuple(settings.CANDOR_CLIENT_PAGE_PREFIXES))
        ):
            return self.get_response(request)
        language = member_language(user) or translation.get_language()
        with translation.override(language), timezone.override(member_timezone(user)):
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
        # LocaleMiddleware (outside this one) only fills Content-Language when it is missing.
        response.headers["Content-Language"] = language
        return response
