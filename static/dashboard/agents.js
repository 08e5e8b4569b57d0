/*
 * agents.js: filters, sorting and counts per status on the agents page (agents.html).
 *
 * Everything happens in the browser, instantly, on the rows the page already has: the socket
 * only ever sends rows the viewer may see, so the filters narrow what is shown, never what is
 * sent. Rows carry what is needed as data attributes (_agent_row.html): data-status, data-name,
 * data-team (team id), data-groups (space-separated group ids), data-unit (business unit id)
 * and data-status-since (when the current status started).
 *
 * - The form #agent-filters holds the filters (team, group, unit, status) and the sort
 *   (status, time in state, name). A change applies at once and is written to the query
 *   string with history.replaceState, so a reload or a shared link keeps it; the server
 *   renders the same filters on first paint (and is the whole story without JavaScript).
 * - #agent-counts shows how many agents passing the team, group and unit filters are in each
 *   status; each count is a button that sets the status filter.
 * - An out-of-band swap replaces a whole <tr>, and the new row knows nothing of the filters:
 *   a MutationObserver on the tbody re-applies them. The work is coalesced into one pass per
 *   animation frame, so dozens of swaps a second on 500 rows cost one pass a frame, done
 *   before the frame is painted (a swapped-in row never flashes into view).
 *
 * No inline script, no eval: configured only by the markup, so a strict CSP works.
 */
(function () {
  'use strict';

  var FORM_ID = 'agent-filters';
  var ROWS_ID = 'agent-rows';
  var COUNTS_ID = 'agent-counts';
  var EMPTY_ID = 'agent-empty';
  var FILTERS = ['team', 'group', 'unit', 'status'];
  var SORTS = { status: true, time: true, name: true };
  var DEFAULT_SORT = 'status';
  var UNKNOWN_ORDER = 100000;

  var form = null;
  var tbody = null;
  var observer = null;
  var pending = false;
  var lastCounts = '';
  // status -> {label, icon, order}, from the status select's options (their order is the
  // sort order "by status"); statuses the server did not list are learnt from their rows.
  var statuses = {};
  var learnt = 0;
  var collator = window.Intl && Intl.Collator
    ? new Intl.Collator(document.documentElement.lang || undefined,
                        { sensitivity: 'base', numeric: true })
    : null;

  function select(name) {
    // Not form.elements: the count buttons are named "status" too (form="agent-filters").
    return form ? form.querySelector('select[name="' + name + '"]') : null;
  }

  function filters() {
    var f = {};
    for (var i = 0; i < FILTERS.length; i++) {
      var el = select(FILTERS[i]);
      f[FILTERS[i]] = el ? el.value : '';
    }
    var sort = select('sort');
    f.sort = sort && SORTS[sort.value] ? sort.value : DEFAULT_SORT;
    return f;
  }

  function readStatuses() {
    var el = select('status');
    if (!el) {
      return;
    }
    for (var i = 0; i < el.options.length; i++) {
      var opt = el.options[i];
      if (opt.value && !statuses[opt.value]) {
        statuses[opt.value] = {
          label: opt.text,
          icon: opt.getAttribute('data-icon') || '\u2022',
          order: i,
        };
      }
    }
  }

  /** A status the server did not list (Clarity added one): take its label from a row. */
  function learn(status, row) {
    var label = row.querySelector('.status-label');
    var icon = row.querySelector('.status-icon');
    statuses[status] = {
      label: label ? label.textContent : status,
      icon: icon ? icon.textContent : '\u2022',
      order: UNKNOWN_ORDER + learnt++,
    };
    var el = select('status');
    if (el) {
      var opt = document.createElement('option');
      opt.value = status;
      opt.text = statuses[status].label;
      opt.setAttribute('data-icon', statuses[status].icon);
      el.appendChild(opt);
    }
  }

  function placeMatches(row, f) {
    if (f.team && row.getAttribute('data-team') !== f.team) {
      return false;
    }
    if (f.unit && row.getAttribute('data-unit') !== f.unit) {
      return false;
    }
    if (f.group) {
      var groups = ' ' + (row.getAttribute('data-groups') || '') + ' ';
      if (groups.indexOf(' ' + f.group + ' ') < 0) {
        return false;
      }
    }
    return true;
  }

  function compareText(a, b) {
    if (collator) {
      return collator.compare(a, b);
    }
    a = a.toLowerCase();
    b = b.toLowerCase();
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function comparator(sort) {
    return function (a, b) {
      var d = 0;
      if (sort === 'status') {
        d = a.order - b.order;
      } else if (sort === 'time') {
        d = a.since - b.since; // longest in state first; NaN (both unknown) falls through
      }
      if (d) {
        return d;
      }
      return compareText(a.name, b.name) || a.id - b.id;
    };
  }

  function sinceOf(row) {
    var t = Date.parse(row.getAttribute('data-status-since') || '');
    return isFinite(t) ? t : Infinity; // no start time: after every row that has one
  }

  /**
   * The items' indexes that lie on a longest increasing run of their current positions
   * (`at`): those rows are already in order relative to each other and can stay put.
   */
  function stayers(items) {
    var tails = []; // tails[k]: index of the item ending the best run of length k + 1
    var prev = new Array(items.length);
    for (var i = 0; i < items.length; i++) {
      var lo = 0;
      var hi = tails.length;
      while (lo < hi) {
        var mid = (lo + hi) >> 1;
        if (items[tails[mid]].at < items[i].at) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      prev[i] = lo > 0 ? tails[lo - 1] : -1;
      tails[lo] = i;
    }
    var keep = new Array(items.length);
    for (var k = tails.length ? tails[tails.length - 1] : -1; k >= 0; k = prev[k]) {
      keep[k] = true;
    }
    return keep;
  }

  /**
   * Puts the rows in the items' order, moving as few as possible: fewer DOM mutations, and a
   * row holding keyboard focus keeps it unless it is the one that must move.
   */
  function reorder(items) {
    var sorted = true;
    for (var i = 0; i < items.length; i++) {
      if (items[i].at !== i) {
        sorted = false;
        break;
      }
    }
    if (sorted) {
      return;
    }
    var keep = stayers(items);
    // From the end: each row that moves goes right before its successor, already in place.
    for (var j = items.length - 1; j >= 0; j--) {
      if (!keep[j]) {
        tbody.insertBefore(items[j].row, j + 1 < items.length ? items[j + 1].row : null);
      }
    }
  }

  function textSpan(className, text) {
    var span = document.createElement('span');
    span.className = className;
    span.textContent = text;
    return span;
  }

  /** A count button, as agents.html renders them. */
  function countButton(status) {
    var info = statuses[status];
    var button = document.createElement('button');
    button.type = 'submit';
    button.setAttribute('form', FORM_ID);
    button.name = 'status';
    button.value = status;
    button.className = 'status-count status-' + status;
    button.setAttribute('data-count-status', status);
    var icon = textSpan('status-icon', info.icon);
    icon.setAttribute('aria-hidden', 'true');
    button.appendChild(icon);
    button.appendChild(document.createTextNode(' '));
    button.appendChild(textSpan('status-count__label', info.label));
    button.appendChild(document.createTextNode(' '));
    button.appendChild(textSpan('status-count__n', '0'));
    return button;
  }

  function setCount(button, n, pressed) {
    var num = button.querySelector('.status-count__n');
    if (num && num.textContent !== String(n)) {
      num.textContent = String(n);
    }
    var value = pressed ? 'true' : 'false';
    if (button.getAttribute('aria-pressed') !== value) {
      button.setAttribute('aria-pressed', value);
    }
  }

  /**
   * Updates #agent-counts in place: buttons are kept (and so keep keyboard focus) while
   * their status has agents; a status nobody is in disappears unless it is the one selected.
   */
  function renderCounts(tally, total, selected) {
    var box = document.getElementById(COUNTS_ID);
    if (!box) {
      return;
    }
    var wanted = Object.keys(tally);
    if (selected && !tally[selected]) {
      wanted.push(selected);
    }
    wanted.sort(function (a, b) {
      return statuses[a].order - statuses[b].order;
    });
    var signature = selected + '|' + total + '|' + wanted.map(function (s) {
      return s + ':' + (tally[s] || 0);
    }).join(',');
    if (signature === lastCounts && box.childElementCount === wanted.length + 1) {
      return;
    }
    lastCounts = signature;
    var existing = {};
    var all = null;
    var buttons = box.querySelectorAll('[data-count-status]');
    for (var i = 0; i < buttons.length; i++) {
      var s = buttons[i].getAttribute('data-count-status');
      if (s) {
        existing[s] = buttons[i];
      } else {
        all = buttons[i];
      }
    }
    if (all) {
      setCount(all, total, !selected);
    }
    var before = all ? all.nextElementSibling : box.firstElementChild;
    for (var j = 0; j < wanted.length; j++) {
      var status = wanted[j];
      var button = existing[status] || countButton(status);
      delete existing[status];
      setCount(button, tally[status] || 0, status === selected);
      if (button !== before) {
        box.insertBefore(button, before);
      } else {
        before = before.nextElementSibling;
      }
    }
    for (var gone in existing) {
      if (Object.prototype.hasOwnProperty.call(existing, gone)) {
        box.removeChild(existing[gone]);
      }
    }
  }

  function watch(el) {
    if (observer) {
      observer.disconnect();
    }
    tbody = el;
    if (tbody && observer) {
      observer.observe(tbody, { childList: true });
    }
  }

  /** One pass: hide what does not match, count, sort. */
  function apply() {
    pending = false;
    var current = document.getElementById(ROWS_ID);
    if (current !== tbody) {
      watch(current); // a snapshot may replace the whole tbody
    }
    if (!tbody) {
      return;
    }
    var f = filters();
    var rows = tbody.rows;
    var items = [];
    var tally = {};
    var total = 0;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var status = row.getAttribute('data-status') || 'unknown';
      if (!statuses[status]) {
        learn(status, row);
      }
      var place = placeMatches(row, f);
      if (place) {
        tally[status] = (tally[status] || 0) + 1;
        total++;
      }
      var show = place && (!f.status || f.status === status);
      if (row.hidden === show) {
        row.hidden = !show;
      }
      if (show) {
        shown++;
      }
      items.push({
        row: row,
        at: i,
        order: statuses[status].order,
        since: sinceOf(row),
        name: row.getAttribute('data-name') || '',
        id: parseInt((row.id || '').replace(/\D+/g, ''), 10) || 0,
      });
    }
    items.sort(comparator(f.sort));
    reorder(items);
    renderCounts(tally, total, f.status);
    var empty = document.getElementById(EMPTY_ID);
    if (empty && empty.hidden !== shown > 0) {
      empty.hidden = shown > 0;
    }
    if (observer) {
      observer.takeRecords(); // our own moves are no reason for another pass
    }
  }

  function schedule() {
    if (!pending) {
      pending = true;
      window.requestAnimationFrame(apply);
    }
  }

  /** The filters in the query string (other parameters kept), without a new history entry. */
  function writeUrl() {
    var f = filters();
    var parts = [];
    var kept = location.search.replace(/^\?/, '').split('&');
    for (var i = 0; i < kept.length; i++) {
      var name = decodeURIComponent(kept[i].split('=')[0].replace(/\+/g, ' '));
      if (kept[i] && FILTERS.indexOf(name) < 0 && name !== 'sort') {
        parts.push(kept[i]);
      }
    }
    for (var j = 0; j < FILTERS.length; j++) {
      if (f[FILTERS[j]]) {
        parts.push(FILTERS[j] + '=' + encodeURIComponent(f[FILTERS[j]]));
      }
    }
    if (f.sort !== DEFAULT_SORT) {
      parts.push('sort=' + f.sort);
    }
    var url = location.pathname + (parts.length ? '?' + parts.join('&') : '') + location.hash;
    if (url !== location.pathname + location.search + location.hash) {
      history.replaceState(history.state, '', url);
    }
  }

  function changed() {
    writeUrl();
    apply(); // at once: the user is waiting for it
  }

  function setStatus(value) {
    var el = select('status');
    if (!el) {
      return;
    }
    el.value = value;
    changed();
  }

  function init() {
    form = document.getElementById(FORM_ID);
    if (!form || !document.getElementById(ROWS_ID)) {
      return;
    }
    readStatuses();
    var apply_ = form.querySelector('.agent-filters__apply');
    if (apply_) {
      apply_.hidden = true; // filters apply as they change
    }
    form.addEventListener('change', changed);
    form.addEventListener('submit', function (e) {
      e.preventDefault(); // filtering happens here, no page load
      changed();
    });
    var counts = document.getElementById(COUNTS_ID);
    if (counts) {
      // The counts submit the form without JavaScript; here they set the status filter.
      counts.addEventListener('click', function (e) {
        var button = e.target.closest ? e.target.closest('[data-count-status]') : null;
        if (button) {
          e.preventDefault();
          setStatus(button.getAttribute('data-count-status'));
        }
      });
    }
    if (window.MutationObserver) {
      observer = new MutationObserver(schedule);
    }
    // A swap can also replace the tbody itself; the next pass watches the new one.
    document.addEventListener('htmx:oobAfterSwap', schedule);
    document.addEventListener('htmx:afterSettle', schedule);
    watch(document.getElementById(ROWS_ID));
    apply();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
