"""Bookinfo pages for the sandbox data plane, in our own template with the current (1.20.1+) markup structure.

The traffic generator pushes thousands of requests a second through the sandbox, so nothing here formats a
page per request: every fragment is rendered once, and whole pages are cached as bytes per variant (user,
details state, reviews outcome, reviews pod). A variant costs one dict lookup after its first request.

Markup facts the classifier (``tui.traffic.classify``) and real users rely on, kept from the real page:

* A rated review holds ``<div class="flex gap-x-1 text-black-500">`` (reviews v2) or ``text-red-500`` (v3)
  with filled-star SVGs (``id="glyphicon glyphicon-star"``) followed by outline-star SVGs; v1 shows no stars.
* A ratings failure renders ``<p class="text-red-500">Ratings service is currently unavailable</p>``.
* "Reviews served by:" is followed by the reviews pod name in plain text; the page holds two reviews.
* Reviews down: "Error fetching product reviews" and "Sorry, product reviews are currently unavailable for
  this book."; details down: "Error fetching product details".
* A logged-in page shows the user name and a "Sign out" link; a logged-out one a "Sign in" form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import Final, Literal

ReviewsState = Literal["v1", "v2", "v3", "unavailable"]

TITLE: Final = "The Comedy of Errors"
PRODUCT_ID: Final = 0
# The page is cached per variant; pod names and user names vary, so the cache is bounded and simply reset.
_CACHE_LIMIT: Final = 4096


@dataclass(frozen=True, slots=True)
class Review:
    reviewer: str
    text: str
    stars: int


REVIEWS: Final[tuple[Review, ...]] = (
    Review(
        "Reviewer1",
        "A fast, silly and very human play: two pairs of twins, one town, and a day in which nobody can "
        "trust who they are talking to. It reads in an evening and stays with you much longer.",
        5,
    ),
    Review(
        "Reviewer2",
        "Shakespeare at his most playful. The mistaken identities pile up faster than you can count them, "
        "and the reunion at the end is earned. Some of the jokes have aged, most of them have not.",
        4,
    ),
)

DETAILS: Final[dict[str, object]] = {
    "id": PRODUCT_ID,
    "author": "William Shakespeare",
    "year": 1595,
    "type": "paperback",
    "pages": 200,
    "publisher": "PublisherA",
    "language": "English",
    "ISBN-10": "1234567890",
    "ISBN-13": "123-1234567890",
}

_STAR_POINTS: Final = "10,1.5 12.6,7 18.6,7.5 14,11.5 15.4,17.5 10,14.3 4.6,17.5 6,11.5 1.4,7.5 7.4,7"
_FILLED: Final = (
    '<svg id="glyphicon glyphicon-star" class="h-5 w-5" viewBox="0 0 20 20" fill="currentColor" '
    f'aria-hidden="true"><polygon points="{_STAR_POINTS}"/></svg>'
)
_OUTLINE: Final = (
    '<svg id="glyphicon glyphicon-star-empty" class="h-5 w-5" viewBox="0 0 20 20" fill="none" '
    f'stroke="currentColor" stroke-width="1.2" aria-hidden="true"><polygon points="{_STAR_POINTS}"/></svg>'
)
_RATINGS_DOWN: Final = '<p class="text-red-500">Ratings service is currently unavailable</p>'


def _head(user: str | None) -> str:
    if user:
        who = (
            f'<span class="text-sm text-gray-200" id="signed-user">{escape(user)}</span>\n'
            '      <a href="logout" class="ml-3 rounded bg-gray-600 px-3 py-1 text-sm text-white">'
            "Sign out</a>"
        )
    else:
        who = (
            '<form method="post" action="login" class="flex gap-x-2">\n'
            '        <input type="text" name="username" placeholder="User name"'
            ' class="rounded px-2 text-sm">\n'
            '        <input type="password" name="passwd" placeholder="Password"'
            ' class="rounded px-2 text-sm">\n'
            '        <button type="submit" class="rounded bg-blue-600 px-3 py-1 text-sm text-white">Sign in'
            "</button>\n      </form>"
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Simple Bookstore App</title>
  <link rel="stylesheet" href="static/tailwind/tailwind.css">
</head>
<body class="bg-gray-50 text-gray-900">
  <nav class="flex items-center justify-between bg-gray-800 px-6 py-3">
    <a href="#" class="text-lg font-semibold text-white">BookInfo Sample</a>
    <div class="flex items-center">
      {who}
    </div>
  </nav>
  <main class="container mx-auto px-6 py-8">
    <h1 class="mb-2 text-3xl font-bold">{TITLE}</h1>
    <p class="mb-8 text-gray-700">Summary: A comedy of two sets of identical twins, separated at birth,
      who end up in the same city on the same day. Wrongful arrests, a seduction and an accusation of
      madness follow before the family is put back together.</p>
    <div class="grid grid-cols-1 gap-8 md:grid-cols-2">
"""


def _details_ok() -> str:
    rows = "".join(
        f'        <dt class="font-semibold">{label}:</dt><dd>{escape(str(DETAILS[key]))}</dd>\n'
        for label, key in (
            ("Type", "type"),
            ("Pages", "pages"),
            ("Publisher", "publisher"),
            ("Language", "language"),
            ("ISBN-10", "ISBN-10"),
            ("ISBN-13", "ISBN-13"),
        )
    )
    return (
        '      <section id="details">\n'
        '        <h4 class="mb-3 text-xl font-semibold">Book Details</h4>\n'
        f'        <dl class="grid grid-cols-2 gap-y-1">\n{rows}        </dl>\n'
        "      </section>\n"
    )


_DETAILS_DOWN: Final = (
    '      <section id="details">\n'
    '        <h4 class="mb-3 text-xl font-semibold">Error fetching product details</h4>\n'
    "        <p>Sorry, product details are currently unavailable for this book.</p>\n"
    "      </section>\n"
)


def _stars(colour: str, n: int) -> str:
    return (
        f'            <div class="flex gap-x-1 text-{colour}-500">\n              '
        + _FILLED * n
        + _OUTLINE * (5 - n)
        + "\n            </div>\n"
    )


def _reviews_prefix(state: ReviewsState, ratings_ok: bool) -> str:
    """Everything of the reviews section up to the pod name; the pod name and _REVIEWS_TAIL follow."""
    items = []
    for review in REVIEWS:
        rating = ""
        if state in ("v2", "v3"):
            rating = (
                _stars("black" if state == "v2" else "red", review.stars)
                if ratings_ok
                else (f"            {_RATINGS_DOWN}\n")
            )
        items.append(
            '          <blockquote class="mb-4 border-l-4 border-gray-300 pl-4">\n'
            f'            <p class="italic">{escape(review.text)}</p>\n'
            f'            <small class="text-gray-500">{review.reviewer}</small>\n'
            f"{rating}"
            "          </blockquote>\n"
        )
    return (
        '      <section id="reviews">\n'
        '        <h4 class="mb-3 text-xl font-semibold">Book Reviews</h4>\n'
        + "".join(items)
        + '        <p class="text-sm text-gray-500">Reviews served by:\n          '
    )


_REVIEWS_TAIL: Final = "\n        </p>\n      </section>\n"
_REVIEWS_DOWN: Final = (
    '      <section id="reviews">\n'
    '        <h4 class="mb-3 text-xl font-semibold">Error fetching product reviews</h4>\n'
    "        <p>Sorry, product reviews are currently unavailable for this book.</p>\n"
    "      </section>\n"
)
_TAIL: Final = "    </div>\n  </main>\n</body>\n</html>\n"


class Pages:
    """Renders productpage variants once and serves them as cached bytes."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str | None, bool, ReviewsState, bool, str], bytes] = {}
        self._heads: dict[str | None, str] = {}
        self._details = (_DETAILS_DOWN, _details_ok())
        self._prefixes = {
            (state, ok): _reviews_prefix(state, ok) for state in ("v1", "v2", "v3") for ok in (True, False)
        }

    def productpage(
        self,
        *,
        user: str | None,
        details_ok: bool,
        reviews: ReviewsState,
        ratings_ok: bool = True,
        pod: str = "",
    ) -> bytes:
        """The /productpage body. ``pod`` is the reviews pod that answered; ignored when reviews are down."""
        if reviews == "unavailable" or reviews == "v1":
            ratings_ok = True
        key = (user, details_ok, reviews, ratings_ok, pod if reviews != "unavailable" else "")
        page = self._cache.get(key)
        if page is None:
            page = self._render(*key)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = page
        return page

    def _render(
        self, user: str | None, details_ok: bool, reviews: ReviewsState, ratings_ok: bool, pod: str
    ) -> bytes:
        head = self._heads.get(user)
        if head is None:
            if len(self._heads) >= _CACHE_LIMIT:
                self._heads.clear()
            head = self._heads[user] = _head(user)
        if reviews == "unavailable":
            section = _REVIEWS_DOWN
        else:
            section = self._prefixes[(reviews, ratings_ok)] + escape(pod) + _REVIEWS_TAIL
        return (head + self._details[details_ok] + section + _TAIL).encode()


def products_json() -> bytes:
    """GET /api/v1/products."""
    return json.dumps(
        [{"id": PRODUCT_ID, "title": TITLE, "descriptionHtml": "A comedy by <b>William Shakespeare</b>."}]
    ).encode()


def details_json() -> bytes:
    """GET /api/v1/products/0."""
    return json.dumps(DETAILS).encode()


def reviews_json(*, pod: str, state: ReviewsState, ratings_ok: bool) -> bytes:
    """GET /api/v1/products/0/reviews, shaped like the reviews service's answer."""
    out = []
    for review in REVIEWS:
        item: dict[str, object] = {"reviewer": review.reviewer, "text": review.text}
        if state in ("v2", "v3"):
            item["rating"] = (
                {"stars": review.stars, "color": "black" if state == "v2" else "red"}
                if ratings_ok
                else {"error": "Ratings service is currently unavailable"}
            )
        out.append(item)
    return json.dumps({"id": str(PRODUCT_ID), "podname": pod, "reviews": out}).encode()


def ratings_json() -> bytes:
    """GET /api/v1/products/0/ratings."""
    return json.dumps({"id": PRODUCT_ID, "ratings": {r.reviewer: r.stars for r in REVIEWS}}).encode()


STYLESHEET: Final = (
    b"/* istio-tui sandbox: the real page loads Tailwind here; the simulation needs none. */\n"
)
