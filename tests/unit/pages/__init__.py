"""Bookinfo product pages for the traffic tests, in both template generations, written for these tests.

They follow the markup facts the classifier relies on (see ``tui/traffic/classify.py``), not upstream's
template text. ``pad`` grows a page to a target size for the benchmark (the real page is about 15 KB).
"""

from __future__ import annotations

from typing import Literal

Reviews = Literal["v1", "v2", "v3", "ratings_down", "reviews_down"]

_REVIEWS = (
    ("Reviewer1", "A day of doubled twins and doubled mistakes; it reads in one sitting.", 5),
    ("Reviewer2", "Silly, quick and kind. The last scene earns every misunderstanding before it.", 4),
)
_STAR_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 20" class="h-4 w-4" fill="{fill}" '
    'stroke="currentColor" id="glyphicon glyphicon-star{suffix}"><polygon points="10,1 13,7 19,8 14.5,12 '
    '16,18.5 10,15 4,18.5 5.5,12 1,8 7,7"/></svg>'
)


def _nav(user: str | None, *, legacy: bool) -> str:
    if user:
        return f'<nav><span class="user">{user}</span> <a href="logout">Sign out</a></nav>'
    button = '<button type="button" class="btn btn-default">Sign in</button>' if legacy else (
        '<button class="rounded bg-blue-500 px-2 text-white">Sign in</button>'
    )
    return f'<nav><form method="post" action="login"><input name="username">{button}</form></nav>'


def current_page(
    reviews: Reviews,
    *,
    pod: str = "reviews-v1-6d8c7f9b5c-abcde",
    details_down: bool = False,
    user: str | None = None,
    pad: int = 0,
) -> str:
    """A page in the current (1.20.1+) markup: Tailwind classes and star SVGs."""
    if details_down:
        details = '<h4 class="text-xl">Error fetching product details</h4><p>Sorry, product details are ' \
            "currently unavailable for this book.</p>"
    else:
        details = '<h4 class="text-xl">Book Details</h4><dl><dt>Type:</dt><dd>paperback</dd>' \
            "<dt>Pages:</dt><dd>200</dd></dl>"
    if reviews == "reviews_down":
        body = '<h4 class="text-xl">Error fetching product reviews</h4>' \
            "<p>Sorry, product reviews are currently unavailable for this book.</p>"
    else:
        items = []
        for name, text, stars in _REVIEWS:
            rating = ""
            if reviews in ("v2", "v3"):
                colour = "black" if reviews == "v2" else "red"
                svgs = _STAR_SVG.format(fill="currentColor", suffix="") * stars
                svgs += _STAR_SVG.format(fill="none", suffix="-empty") * (5 - stars)
                rating = f'<div class="flex gap-x-1 text-{colour}-500">{svgs}</div>'
            elif reviews == "ratings_down":
                rating = '<p class="text-red-500">Ratings service is currently unavailable</p>'
            items.append(f'<blockquote class="p-2"><p>{text}</p><small>{name}</small>{rating}</blockquote>')
        body = '<h4 class="text-xl">Book Reviews</h4>' + "".join(items) + (
            f'<dl class="text-sm"><dt>Reviews served by:</dt>\n  {pod}\n</dl>'
        )
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Simple Bookstore App</title>'
        '<link rel="stylesheet" href="static/tailwind/tailwind.css"></head>'
        f'<body class="bg-white">{_nav(user, legacy=False)}<h1 class="text-3xl">The Comedy of Errors</h1>'
        f'<div class="grid grid-cols-2"><section>{details}</section><section>{body}</section></div>'
    )
    return _close(page, pad)


def legacy_page(
    reviews: Reviews,
    *,
    pod: str = "reviews-v1-545db77b95-xyz12",
    details_down: bool = False,
    user: str | None = None,
    pad: int = 0,
) -> str:
    """A page in the legacy (Istio 1.22 and older) markup: Bootstrap glyphicon spans inside <font>."""
    if details_down:
        details = (
            "<h3>Error fetching product details!</h3>"
            "<p>Sorry, product details are currently unavailable for this book.</p>"
        )
    else:
        details = "<h4>Book Details</h4><dl><dt>Type:</dt>paperback<dt>Pages:</dt>200</dl>"
    if reviews == "reviews_down":
        body = "<h3>Error fetching product reviews!</h3>" \
            "<p>Sorry, product reviews are currently unavailable for this book.</p>"
    else:
        items = []
        for name, text, stars in _REVIEWS:
            rating = ""
            if reviews in ("v2", "v3"):
                colour = "black" if reviews == "v2" else "red"
                spans = '<span class="glyphicon glyphicon-star"></span>\n' * stars
                spans += '<span class="glyphicon glyphicon-star-empty"></span>\n' * (5 - stars)
                rating = f'<font color="{colour}">\n{spans}</font>'
            elif reviews == "ratings_down":
                rating = "<p><i>Ratings service is currently unavailable</i></p>"
            items.append(f"<blockquote><p>{text}</p><small>{name}</small>{rating}</blockquote>")
        served = f"<dl><dt>Reviews served by:</dt>\n<u>{pod}</u>\n</dl>"
        body = "<h4>Book Reviews</h4>" + "".join(items) + served
    page = (
        '<!DOCTYPE html><html><head><title>Simple Bookstore App</title><link rel="stylesheet" '
        'href="static/bootstrap/css/bootstrap.min.css"></head>'
        f'<body>{_nav(user, legacy=True)}<div class="container"><h3 class="text-center text-primary">The '
        f'Comedy of Errors</h3><div class="row"><div class="col-md-6">{details}</div>'
        f'<div class="col-md-6">{body}</div></div></div>'
    )
    return _close(page, pad)


def _close(page: str, pad: int) -> str:
    filler = ""
    missing = pad - len(page) - len("</body></html>")
    if missing > 0:
        line = "<p class=\"text-gray-500\">Summary: Twins, a merchant, a chain and a very long day.</p>\n"
        filler = (line * (missing // len(line) + 1))[:missing]
    return page + filler + "</body></html>"
