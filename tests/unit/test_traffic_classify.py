"""The page classifier against pages of both template generations, every failure mode, and garbage."""

from __future__ import annotations

import pytest

from tests.unit.pages import current_page, legacy_page
from tui.traffic.classify import CATEGORIES, RecentPages, Verdict, classify, reviews_pod

EXPECTED = {
    "v1": "no_stars",
    "v2": "black",
    "v3": "red",
    "ratings_down": "ratings_unavailable",
    "reviews_down": "reviews_unavailable",
}


@pytest.mark.parametrize("template", [current_page, legacy_page], ids=["current", "legacy"])
@pytest.mark.parametrize("reviews", list(EXPECTED))
def test_each_reviews_outcome_gets_its_category(template, reviews) -> None:
    page = template(reviews, pod="reviews-v2-7d9c8b6f5-q2w3e")
    verdict = classify(200, page)
    assert verdict.category == EXPECTED[reviews]
    assert verdict.details_unavailable is False
    expected_pod = None if reviews == "reviews_down" else "reviews-v2-7d9c8b6f5-q2w3e"
    assert verdict.pod == expected_pod


@pytest.mark.parametrize("template", [current_page, legacy_page], ids=["current", "legacy"])
@pytest.mark.parametrize("reviews", list(EXPECTED))
def test_details_failure_is_a_flag_beside_the_category(template, reviews) -> None:
    verdict = classify(200, template(reviews, details_down=True))
    assert verdict.category == EXPECTED[reviews]
    assert verdict.details_unavailable is True


@pytest.mark.parametrize("template", [current_page, legacy_page], ids=["current", "legacy"])
@pytest.mark.parametrize("reviews", ["v1", "v2", "v3"])
def test_logged_in_page_classifies_the_same(template, reviews) -> None:
    page = template(reviews, user="jason")
    assert "Sign out" in page and "jason" in page
    assert classify(200, page).category == EXPECTED[reviews]


def test_ratings_failure_in_red_text_is_not_red_stars() -> None:
    page = current_page("ratings_down")
    assert 'class="text-red-500"' in page
    assert classify(200, page).category == "ratings_unavailable"


def test_star_colour_comes_from_the_container_not_an_earlier_red_paragraph() -> None:
    ratings_down = '<p class="text-red-500">Ratings service is currently unavailable</p>'
    black_stars = current_page("v2")
    page = black_stars.replace("<blockquote", f"{ratings_down}<blockquote", 1)
    assert classify(200, page).category == "black"


@pytest.mark.parametrize(
    "text",
    ["Error fetching product reviews", "Error fetching product reviews!",
     "Sorry, product reviews are currently unavailable for this book."],
)
def test_either_reviews_failure_text_alone_means_reviews_unavailable(text) -> None:
    page = f"<html><body><h1>The Comedy of Errors</h1><h4>{text}</h4></body></html>"
    assert classify(200, page).category == "reviews_unavailable"


def test_pod_name_in_plain_text_and_inside_u() -> None:
    assert reviews_pod(current_page("v1", pod="reviews-v1-abc-1").encode()) == "reviews-v1-abc-1"
    assert reviews_pod(legacy_page("v1", pod="reviews-v3-xyz-2").encode()) == "reviews-v3-xyz-2"
    dd = b"<dl><dt>Reviews served by:</dt><dd>reviews-v2-7f.x_y</dd></dl>"
    assert reviews_pod(dd) == "reviews-v2-7f.x_y"
    assert reviews_pod(b"Reviews served by: reviews-v1-a") == "reviews-v1-a"
    assert reviews_pod(b"no marker here") is None


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body>It works!</body></html>", b'{"kind": "Status", "code": 404}', bytes(range(256)) * 40,
     b"glyphicon glyphicon-star without any colour or reviews block"],
    ids=["empty", "default-page", "json", "binary", "star-without-colour"],
)
def test_garbage_is_unrecognized(body) -> None:
    assert classify(200, body) == Verdict("unrecognized")


@pytest.mark.parametrize("status", [201, 302, 404, 500, 503])
def test_non_200_is_http_error_whatever_the_body(status) -> None:
    assert classify(status, current_page("v3")) == Verdict("http_error")


def test_large_page_and_str_or_bytes_agree() -> None:
    page = current_page("v3", pad=15_000)
    assert len(page) >= 15_000
    assert classify(200, page) == classify(200, page.encode())
    assert classify(200, page).category == "red"


def test_categories_are_the_eight_of_the_contract() -> None:
    assert CATEGORIES == (
        "black", "red", "no_stars", "ratings_unavailable", "reviews_unavailable",
        "http_error", "transport_error", "unrecognized",
    )


@pytest.mark.parametrize("reviews", ["v1", "v2", "v3", "unavailable"])
@pytest.mark.parametrize("ok", [True, False])
def test_agrees_with_the_sandbox_pages(reviews, ok) -> None:
    """The sandbox data plane renders its own template; the tally must read it like a real page."""
    from tui.sandbox.pages import Pages

    page = Pages().productpage(user="jason", details_ok=ok, reviews=reviews, ratings_ok=ok, pod="reviews-x-1")
    verdict = classify(200, page)
    expected = {"v1": "no_stars", "v2": "black", "v3": "red", "unavailable": "reviews_unavailable"}[reviews]
    if not ok and reviews in ("v2", "v3"):
        expected = "ratings_unavailable"
    assert verdict.category == expected
    assert verdict.details_unavailable is (not ok)
    assert verdict.pod == (None if reviews == "unavailable" else "reviews-x-1")


def test_recent_pages_give_classify_verdicts_for_repeats_and_same_length_changes() -> None:
    red = current_page("v3", pod="reviews-v3-a", pad=15_000).encode()
    black = current_page("v2", pod="reviews-v2-b", pad=15_000).encode()
    down = current_page("v3", pod="reviews-v3-a", details_down=True, pad=15_000).encode()
    # the same length as the red page, one byte apart: the pod name's last letter
    other_pod = red.replace(b"reviews-v3-a", b"reviews-v3-c")
    assert len(other_pod) == len(red)
    pages = RecentPages()
    stream = [red, red, black, bytes(red), other_pod, red, down, black, b"", b"x" * len(red)]
    assert [pages.verdict(200, body) for body in stream] == [classify(200, body) for body in stream]
    assert pages.verdict(503, red) == classify(503, red)
    for n in range(40):  # more lengths than it keeps: exact while it drops pages
        page = red + b" " * n
        assert pages.verdict(200, page) == classify(200, page)
