"""The agents page's filters, sort orders and counts per status, on the server side.

The browser does the same on the rows it has (static/dashboard/agents.js), instantly and as
rows change; the server applies the filters of the query string to its first render so that a
reload or a shared link paints the right rows at once, and so that the page works without
JavaScript. Filtered-out rows are rendered `hidden`, not left out: the socket updates every row
the viewer may see, and the browser can widen the filter again without a round trip. Scope is
not the filters' job: the rows given here are already the ones the viewer may see.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .live import STATUS_ICON_DEFAULT, STATUS_ICONS, STATUS_LABELS, STATUS_ORDER

SORTS = ("status", "time", "name")
DEFAULT_SORT = "status"
# Clarity may add statuses: any plain word is a status the filter can ask for.
_STATUS_RE = re.compile(r"^[A-Za-z]{1,40}$")


def _last(query: Mapping[str, Any], name: str) -> str:
    # Without JavaScript the count buttons submit the form with their own `status` after the
    # select's (they come later in the document): the last value is the one clicked.
    values = query.getlist(name) if hasattr(query, "getlist") else [query.get(name)]
    values = [v for v in values if v is not None]
    return str(values[-1]).strip() if values else ""


@dataclass(frozen=True)
class AgentFilters:
    """What the query string asks for: ids as digit strings, "" for any."""

    team: str = ""
    group: str = ""
    unit: str = ""
    status: str = ""
    sort: str = DEFAULT_SORT

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> AgentFilters:
        def ident(name: str) -> str:
            value = _last(query, name)
            return value if value.isdigit() else ""

        status = _last(query, "status")
        sort = _last(query, "sort")
        return cls(team=ident("team"), group=ident("group"), unit=ident("unit"),
                   status=status if _STATUS_RE.match(status) else "",
                   sort=sort if sort in SORTS else DEFAULT_SORT)

    def within(self, teams: Iterable[int], groups: Iterable[int],
               units: Iterable[int]) -> AgentFilters:
        """Drop a team, group or unit the viewer is not offered (out of scope, or gone): the
        page's select cannot show it, so the browser would not filter on it either."""
        def keep(value: str, offered: Iterable[int]) -> str:
            return value if value and int(value) in set(offered) else ""

        return replace(self, team=keep(self.team, teams), group=keep(self.group, groups),
                       unit=keep(self.unit, units))

    def places(self, row: Mapping[str, Any]) -> bool:
        """Whether the row passes the team, group and business unit filters."""
        if self.team and str(row.get("team_id") or "") != self.team:
            return False
        if self.unit and str(row.get("unit_id") or "") != self.unit:
            return False
        return not self.group or self.group in str(row.get("group_ids") or "").split()

    def shows(self, row: Mapping[str, Any]) -> bool:
        return self.places(row) and (not self.status or row.get("status") == self.status)


def _since(row: Mapping[str, Any]) -> float:
    try:
        return datetime.fromisoformat(str(row.get("since"))).timestamp()
    except ValueError:
        return float("inf")  # no start time: after every row that has one


def _order(status: str) -> int:
    try:
        return STATUS_ORDER.index(status)
    except ValueError:
        return len(STATUS_ORDER)


def sort_rows(rows: Iterable[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """Rows in the page's order: by status (in STATUS_ORDER), by time in state (longest
    first) or by name; ties by name, then id, so the order is stable."""

    def by_name(row: Mapping[str, Any]) -> tuple[str, int]:
        return str(row.get("name") or "").casefold(), int(row.get("agent_id") or 0)

    if sort == "time":
        return sorted(rows, key=lambda r: (_since(r), by_name(r)))
    if sort == "status":
        return sorted(rows, key=lambda r: (_order(str(r.get("status"))), by_name(r)))
    return sorted(rows, key=by_name)


def status_options(rows: Iterable[Mapping[str, Any]], selected: str = "") -> list[dict[str, str]]:
    """The status filter's choices: every known status, then any other seen or asked for."""
    codes = list(STATUS_ORDER)
    for code in [*(str(r.get("status")) for r in rows), selected]:
        if code and code not in codes:
            codes.append(code)
    return [{"status": c, "label": str(STATUS_LABELS.get(c, c)),
             "icon": STATUS_ICONS.get(c, STATUS_ICON_DEFAULT)} for c in codes]


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    icon: str
    count: int
    pressed: bool


def status_counts(rows: Sequence[Mapping[str, Any]], filters: AgentFilters,
                  ) -> tuple[int, list[StatusCount]]:
    """How many rows passing the team, group and unit filters are in each status (the status
    filter itself does not narrow the counts: they are what it chooses from). Statuses
    nobody is in are left out, except the one selected. Returns (total, counts)."""
    tally = Counter(str(r.get("status")) for r in rows if filters.places(r))
    counts = [StatusCount(o["status"], o["label"], o["icon"], tally[o["status"]],
                          o["status"] == filters.status)
              for o in status_options(rows, filters.status)
              if tally[o["status"]] or o["status"] == filters.status]
    return sum(tally.values()), counts
