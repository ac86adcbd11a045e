"""The sandbox's Bookinfo pages carry the current markup facts, checked through the traffic classifier."""

from __future__ import annotations

import pytest

from tui.sandbox.pages import Pages
from tui.traffic.classify import classify


@pytest.mark.parametrize(
    ("kwargs", "category"),
    [
        ({"reviews": "v1"}, "no_stars"),
        ({"reviews": "v2"}, "black"),
        ({"reviews": "v3"}, "red"),
        ({"reviews": "v2", "ratings_ok": False}, "ratings_unavailable"),
        ({"reviews": "v3", "ratings_ok": False}, "ratings_unavailable"),
        ({"reviews": "unavailable"}, "reviews_unavailable"),
    ],
)
def test_variants_classify(kwargs: dict[str, object], category: str) -> None:
    page = Pages().productpage(user=None, details_ok=True, pod="reviews-v9-abcde", **kwargs)  # type: ignore[arg-type]
    verdict = classify(200, page)
    assert verdict.category == category
    assert not verdict.details_unavailable
    if category != "reviews_unavailable":
        assert verdict.pod == "reviews-v9-abcde"


def test_markup_facts() -> None:
    pages = Pages()
    red = pages.productpage(user=None, details_ok=True, reviews="v3", pod="p").decode()
    assert red.count('<div class="flex gap-x-1 text-red-500">') == 2
    assert red.count('id="glyphicon glyphicon-star"') == 9  # 5 + 4 filled stars
    assert red.count("glyphicon-star-empty") == 1
    assert "Reviews served by:" in red and "Sign in" in red
    down = pages.productpage(user=None, details_ok=False, reviews="v2", ratings_ok=False, pod="p").decode()
    assert down.count('<p class="text-red-500">Ratings service is currently unavailable</p>') == 2
    assert "Error fetching product details" in down
    assert classify(200, down.encode()).details_unavailable
    gone = pages.productpage(user=None, details_ok=True, reviews="unavailable").decode()
    assert "Error fetching product reviews" in gone
    assert "Sorry, product reviews are currently unavailable for this book." in gone


def test_logged_in_page_and_escaping() -> None:
    page = Pages().productpage(user="<jason>", details_ok=True, reviews="v2", pod="p").decode()
    assert "&lt;jason&gt;" in page and "Sign out" in page and "<jason>" not in page


def test_pages_are_cached() -> None:
    pages = Pages()
    a = pages.productpage(user="jason", details_ok=True, reviews="v2", pod="p")
    assert pages.productpage(user="jason", details_ok=True, reviews="v2", pod="p") is a
