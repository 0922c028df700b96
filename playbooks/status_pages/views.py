"""Client pages: a contact's private status page (signed link, no login), its confirm button,
and an organisation's public status page. Thin: read the head, answer 304 when the client has
this version, else serve the cached rendering with the reader's own values filled in."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Contact
from candor.helpers import private_link_headers
from comms.rendering import format_local_time
from playbooks.acknowledgements.services import acknowledgement_confirm
from playbooks.incidents.links import ids_from_status_token
from playbooks.models import FINAL_STATES, AcknowledgementVia, Incident
from playbooks.status_pages.selectors import (
    page_language,
    page_words,
    public_head,
    public_page_html,
    status_head,
    status_page_html,
)


def _head_or_404(token):
    ids = ids_from_status_token(token)
    if ids is None:
        raise Http404("No such status page.")
    head = status_head(incident_id=ids[0], contact_id=ids[1])
    if head is None:
        raise Http404("No such status page.")
    return head


def _can_confirm(head):
    incident = head.incident
    return bool(incident["ack_id"]) and incident["ack_confirmed_at"] is None and incident["state"] not in FINAL_STATES


@require_GET
def status_page(request, token):
    """A contact's private page of one incident, in their language and timezone."""
    head = _head_or_404(token)
    if head.is_expired:
        return _expired(request, head)
    etag = head.etag
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return private_link_headers(not_modified, etag=etag)
    csrf_token = get_token(request) if _can_confirm(head) else ""
    html = status_page_html(head, status_link=f"{settings.CANDOR_PUBLIC_URL}/s/{token}/", csrf_token=csrf_token)
    response = HttpResponse(html)
    response["Content-Language"] = head.language  # the reader's, not the browser's (LocaleMiddleware)
    return private_link_headers(response, etag=etag)


def _expired(request, head):
    incident, language = head.incident, head.language
    words = page_words(language)
    ended_at = incident["closed_at"] or incident["cancelled_at"]
    response = render(
        request,
        "playbooks/public/expired.html",
        {
            "page_language": language,
            "words": words,
            "organization_name": incident["organization_name"],
            "text": words["expired_text"].format(
                closed=format_local_time(ended_at, language=language, timezone_name=head.timezone_name),
                days=settings.CANDOR_STATUS_LINK_DAYS_AFTER_CLOSE,
                organization=incident["organization_name"],
            ),
        },
        status=410,
    )
    response["Content-Language"] = language
    return private_link_headers(response)


@require_POST
def status_confirm(request, token):
    """The confirm button (a CSRF-protected form that works without JavaScript)."""
    head = _head_or_404(token)
    if head.is_expired:
        return _expired(request, head)
    incident = Incident.objects.get(pk=head.incident["id"])
    contact = Contact.objects.select_related("client").get(pk=head.reader.id)
    acknowledgement_confirm(incident=incident, contact=contact, via=AcknowledgementVia.PAGE)
    # Back to the page (303: a reload does not post again), which now shows who confirmed.
    response = redirect(f"/s/{token}/#acknowledgement")
    response.status_code = 303
    return private_link_headers(response)


@require_GET
def public_status(request, org_slug):
    """An organisation's public status page: the incidents it chose to show, and their updates."""
    head = public_head(slug=org_slug)
    if head is None:
        raise Http404("No such status page.")
    etag = head.etag
    response = get_conditional_response(request, etag=etag) or HttpResponse(public_page_html(head))
    response["Content-Language"] = page_language([head.organization.default_language])
    response["ETag"] = etag
    response["Cache-Control"] = "public, no-cache"
    return response
