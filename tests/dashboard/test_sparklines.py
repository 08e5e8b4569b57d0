"""Sparklines: points in, a small SVG out (dashboard/sparklines.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dashboard import sparklines

UNTIL = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SINCE = UNTIL - sparklines.WINDOW


def _at(minutes_ago: float) -> datetime:
    return UNTIL - timedelta(minutes=minutes_ago)


def _moves(d: str) -> list[tuple[str, float, float]]:
    """The path's commands with their coordinates ("h" has one: its y is repeated as 0)."""
    found = []
    for command, a, b in re.findall(r"([MLh])(-?[\d.]+)(?: (-?[\d.]+))?", d):
        found.append((command, float(a), float(b) if b else 0.0))
    return found


def test_no_points_draw_no_line() -> None:
    assert sparklines.path_data([], since=SINCE, until=UNTIL) == ""
    html = sparklines.svg([], name="Waiting", until=UNTIL)
    assert "sparkline-line" not in html and 'class="sparkline-base"' in html
    assert 'aria-label="Waiting, last hour: no data yet"' in html


def test_time_runs_across_and_values_go_up_from_zero() -> None:
    points = [(_at(2), 0.0), (_at(1), 5.0), (_at(0), 10.0)]
    moves = _moves(sparklines.path_data(points, since=_at(2), until=UNTIL))
    assert [m[0] for m in moves] == ["M", "L", "L"]
    (_, x0, y0), (_, x1, y1), (_, x2, y2) = moves
    assert (x0, x1, x2) == (0, sparklines.WIDTH / 2, sparklines.WIDTH)
    bottom, top = sparklines.HEIGHT - sparklines.PAD, sparklines.PAD
    assert (y0, y1, y2) == (bottom, (bottom + top) / 2, top)


def test_the_baseline_is_zero_not_the_lowest_value() -> None:
    # 4 then 8: the 4 sits halfway up, so "it doubled" reads as such.
    moves = _moves(sparklines.path_data([(_at(10), 4.0), (_at(9), 8.0)], since=SINCE,
                                        until=UNTIL))
    assert moves[0][2] == sparklines.HEIGHT / 2
    assert moves[1][2] == sparklines.PAD


def test_a_flat_line_of_zeros_lies_at_the_bottom() -> None:
    moves = _moves(sparklines.path_data([(_at(2), 0.0), (_at(1), 0.0)], since=SINCE,
                                        until=UNTIL))
    assert {m[2] for m in moves} == {sparklines.HEIGHT - sparklines.PAD}


def test_a_silence_of_more_than_two_samples_breaks_the_line() -> None:
    points = [(_at(50), 1.0), (_at(49), 2.0), (_at(40), 3.0), (_at(39), 1.0)]
    d = sparklines.path_data(points, since=SINCE, until=UNTIL)
    assert [m[0] for m in _moves(d)] == ["M", "L", "M", "L"]


def test_a_lone_point_is_a_short_dash_inside_the_box() -> None:
    d = sparklines.path_data([(_at(0), 3.0)], since=SINCE, until=UNTIL)
    ((command, x, _), (dash, length, _)) = _moves(d)
    assert (command, dash, length) == ("M", "h", 2)
    assert x >= 0 and x + length <= sparklines.WIDTH


def test_points_outside_the_window_are_left_out() -> None:
    points = [(_at(90), 100.0), (_at(10), 1.0), (_at(5), 2.0), (UNTIL + timedelta(minutes=1), 50)]
    html = sparklines.svg(points, name="Waiting", until=UNTIL)
    assert "min 1, max 2, now 2" in html
    assert all(0 <= m[1] <= sparklines.WIDTH
               for m in _moves(sparklines.path_data(points, since=SINCE, until=UNTIL)))


def test_the_svg_says_what_it_shows_and_has_no_inline_style() -> None:
    points = [(_at(3), 0.0), (_at(2), 7.0), (_at(1), 2.5), (_at(0), 3.0)]
    html = str(sparklines.svg(points, name="Waiting", until=UNTIL))
    label = "Waiting, last hour: min 0, max 7, now 3"
    assert f'aria-label="{label}"' in html and f"<title>{label}</title>" in html
    assert 'role="img"' in html and 'class="sparkline"' in html
    assert f'viewBox="0 0 {sparklines.WIDTH} {sparklines.HEIGHT}"' in html
    assert 'class="sparkline-line"' in html
    assert "style" not in html
    assert sparklines.describe("Waiting", [(_at(0), 2.5)]).endswith("now 2.5")


def test_a_label_from_upstream_is_escaped() -> None:
    html = str(sparklines.svg([(_at(0), 1.0)], name='<b>"Q"</b>', until=UNTIL))
    assert "<b>" not in html and "&lt;b&gt;" in html and "&quot;Q&quot;" in html
