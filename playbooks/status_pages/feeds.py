"""The Atom feed of an organisation's public updates: /status/<org-slug>/feed.atom.

Entries are the published updates of the incidents shown on the public status page, newest
first, in the organisation's language and timezone. Answered with an ETag so feed readers that
poll get a 304 until something changes.
"""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape, linebreaks, urlize
from django.views.decorators.http import condition

from playbooks.status_pages.selectors import (
    FEED_LIMIT,
    page_language,
    page_words,
    public_head,
    public_updates,
)


def _head(request, org_slug):
    # The ETag check and the feed both need the head: read it once per request.
    if getattr(request, "_candor_public_head", None) is None:
        request._candor_public_head = public_head(slug=org_slug)
    return request._candor_public_head


class PublicUpdatesFeed(Feed):
    feed_type = Atom1Feed

    def __call__(self, request, *args, **kwargs):
        # Rendered once per version of the public incidents (the head's key), like the page.
        head = _head(request, kwargs.get("org_slug"))
        if head is None:
            raise Http404("No such status page.")
        key = "public-feed:" + head.key
        cached = cache.get(key)
        if cached is not None:
            response = HttpResponse(cached, content_type=f"{self.feed_type.content_type}")
        else:
            response = super().__call__(request, *args, **kwargs)
            cache.set(key, response.content, settings.CANDOR_PAGE_CACHE_SECONDS)
        response["Cache-Control"] = "public, no-cache"
        return response

    def get_object(self, request, org_slug):
        head = _head(request, org_slug)
        if head is None:
            raise Http404("No such status page.")
        return head

    def _page_url(self, head):
        return f"{settings.CANDOR_PUBLIC_URL}/status/{head.organization.slug}/"

    def title(self, head):
        return page_words(page_language([head.organization.default_language]))["public_title"].format(
            organization=head.organization.name
        )

    def link(self, head):
        return self._page_url(head)

    def feed_guid(self, head):
        return self._page_url(head) + "feed.atom"

    def feed_url(self, head):
        return self._page_url(head) + "feed.atom"

    def subtitle(self, head):
        return page_words(page_language([head.organization.default_language]))["feed"]

    def author_name(self, head):
        return head.organization.name

    def items(self, head):
        self._base = self._page_url(head)
        return public_updates(head, limit=FEED_LIMIT)

    def item_title(self, item):
        return f"{item['incident_title']}: {item['subject'] or item['stage']}"

    def item_description(self, item):
        return linebreaks(urlize(escape(item["body"])))

    def item_link(self, item):
        return f"{self._base}#update-{item['id']}"

    def item_guid(self, item):
        return f"{self._base}#update-{item['id']}"

    def item_pubdate(self, item):
        return item["published_at"]

    def item_updateddate(self, item):
        return item["published_at"]


def _etag(request, org_slug):
    head = _head(request, org_slug)
    return head.etag if head is not None else None


public_updates_feed = condition(etag_func=_etag)(PublicUpdatesFeed())
