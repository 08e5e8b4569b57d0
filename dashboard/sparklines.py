"""Sparklines: a queue metric over the last hour, as a small server-rendered SVG.

Pure: points in, markup out, no database and no clock of its own, so the bridge (pushes) and the
overview view (first renders) draw the same picture from the same points. The SVG has a fixed
viewBox and is stretched to the tile's width by CSS; it carries classes only, never a style
attribute (the pages are meant for a strict CSP).

Time runs across the box over [since, until]; values go up from min(0, lowest) to the highest,
so a flat line at the bottom means zero, not "the lowest value this hour". Samples are a
minute apart: a longer silence (the bridge was down) is drawn as a gap, not as a slope.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

Point = tuple[datetime, float]

WINDOW = timedelta(hours=1)
WIDTH = 120
HEIGHT = 32
# Room for half the stroke at the top and bottom edges.
PAD = 2.0
# Two missed samples in a row: the line breaks there.
GAP = timedelta(minutes=2, seconds=30)


def _number(value: float) -> str:
    """A value for people: whole numbers without decimals, others with one."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _coord(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def path_data(points: Sequence[Point], *, since: datetime, until: datetime) -> str:
    """The `d` attribute of the line through `points` in a WIDTH x HEIGHT box; "" for none.

    Points outside [since, until] are left out; each run of points closer than GAP is one
    sub-path, and a lone point becomes a short dash so that it is still visible."""
    shown = sorted((t, v) for t, v in points if since <= t <= until)
    if not shown:
        return ""
    span = (until - since).total_seconds() or 1.0
    low = min(0.0, min(v for _, v in shown))
    high = max(v for _, v in shown)
    rise = (high - low) or 1.0

    def x(t: datetime) -> float:
        return (t - since).total_seconds() / span * WIDTH

    def y(v: float) -> float:
        return HEIGHT - PAD - (v - low) / rise * (HEIGHT - 2 * PAD)

    runs: list[list[Point]] = []
    for point in shown:
        if runs and point[0] - runs[-1][-1][0] <= GAP:
            runs[-1].append(point)
        else:
            runs.append([point])
    parts = []
    for run in runs:
        first_t, first_v = run[0]
        if len(run) == 1:
            parts.append(f"M{_coord(min(max(0.0, x(first_t) - 1), WIDTH - 2))} "
                         f"{_coord(y(first_v))}h2")
            continue
        parts.append(f"M{_coord(x(first_t))} {_coord(y(first_v))}")
        parts.extend(f"L{_coord(x(t))} {_coord(y(v))}" for t, v in run[1:])
    return "".join(parts)


def describe(name: str, points: Sequence[Point]) -> str:
    """What the sparkline shows, in words: its accessible name and tooltip."""
    values = [v for _, v in sorted(points)]
    if not values:
        return gettext("%(name)s, last hour: no data yet") % {"name": name}
    return gettext("%(name)s, last hour: min %(min)s, max %(max)s, now %(now)s") % {
        "name": name, "min": _number(min(values)), "max": _number(max(values)),
        "now": _number(values[-1])}


def svg(points: Sequence[Point], *, name: str, until: datetime,
        window: timedelta = WINDOW) -> SafeString:
    """The sparkline of `points` over the `window` up to `until`, labelled with `name`."""
    since = until - window
    shown = [(t, v) for t, v in points if since <= t <= until]
    label = describe(name, shown)
    d = path_data(shown, since=since, until=until)
    line = format_html('<path class="sparkline-line" d="{}"/>', d) if d else ""
    # The zero line across the whole hour: where the line starts and stops reads as time.
    base = HEIGHT - PAD
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" '
        'aria-label="{}" focusable="false"><title>{}</title>'
        '<path class="sparkline-base" d="M0 {}H{}"/>{}</svg>',
        WIDTH, HEIGHT, label, label, base, WIDTH, line)
