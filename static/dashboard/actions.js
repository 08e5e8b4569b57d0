/*
 * actions.js: supervisor actions on the agent page (and any page with action forms).
 *
 * Loaded with `defer` after htmx; configured only through data-* attributes (no inline
 * script, no eval: a strict CSP works). Without JavaScript the forms still post, and the
 * server redirects back with a message.
 *
 * - Confirmation: an htmx request from a form with `data-confirm` first opens the page's
 *   <dialog id="confirm-dialog"> (modal: focus stays in it, Escape cancels, focus returns to
 *   the button); "{choice}" in the question is the form's chosen <option>.
 * - Error answers: htmx does not swap 4xx/5xx answers by default. The action endpoints answer
 *   with their real status (400 bad input, 403 denied, 409/502 Clarity) and an
 *   X-Action-Result header; those answers are swapped like successes, so the supervisor reads
 *   why.
 * - Pending changes: an accepted action puts a marker into the agent panel
 *   (`[data-expect-key][data-expect-value]` in `#agent-pending-N`). The panel says what the
 *   live feed shows in `data-state-<key>`. The marker goes when the panel shows the expected
 *   value (also when the live data came before the answer); a live update that does not show
 *   it yet keeps the marker (it is put back into the new panel); after
 *   `data-pending-seconds` without confirmation it says `data-text-late` instead.
 * - Live swaps of the panel keep the open/closed state of its <details> and the focus.
 */
(function () {
  'use strict';

  if (window.clarityActions !== undefined) {
    return; // loaded twice
  }

  var DIALOG_ID = 'confirm-dialog';
  var MESSAGE_ID = 'confirm-dialog-message';
  var PANEL_PREFIX = 'agent-panel-';
  var PENDING_PREFIX = 'agent-pending-';

  // ------------------------------------------------------------------ confirmation

  function question(form) {
    var text = form.getAttribute('data-confirm');
    if (!text) {
      return null;
    }
    var select = form.querySelector('select');
    if (select && select.selectedIndex >= 0) {
      text = text.split('{choice}').join(select.options[select.selectedIndex].text.trim());
    }
    return text;
  }

  /** Opens the dialog with `text`; calls done(true) on Confirm, done(false) otherwise. */
  function ask(text, done) {
    var dialog = document.getElementById(DIALOG_ID);
    if (!dialog || typeof dialog.showModal !== 'function') {
      done(window.confirm(text)); // a page without the dialog, or a very old browser
      return;
    }
    document.getElementById(MESSAGE_ID).textContent = text;
    dialog.returnValue = '';
    dialog.addEventListener('close', function onClose() {
      dialog.removeEventListener('close', onClose);
      done(dialog.returnValue === 'confirm');
    });
    dialog.showModal();
  }

  document.addEventListener('htmx:confirm', function (e) {
    var elt = e.detail.elt;
    var form = elt && elt.closest ? elt.closest('form[data-confirm]') : null;
    if (!form) {
      return;
    }
    var text = question(form);
    if (text === null) {
      return;
    }
    e.preventDefault();
    ask(text, function (ok) {
      if (ok) {
        e.detail.issueRequest(true);
      }
    });
  });

  // ------------------------------------------------------------------ error answers

  document.addEventListener('htmx:beforeSwap', function (e) {
    var xhr = e.detail.xhr;
    if (xhr && xhr.status >= 400 && xhr.getResponseHeader('X-Action-Result')) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // ------------------------------------------------------------------ pending changes

  // Panel id -> {html, key, value, late, timer}: what a panel is waiting for.
  var pending = {};

  function matches(panel, key, value) {
    var actual = panel.getAttribute('data-state-' + key);
    if (actual === null) {
      return false;
    }
    // "3" (away, no reason given) is confirmed by "3:1" (away, Clarity's default reason).
    return actual === value || actual.indexOf(value + ':') === 0;
  }

  function slotFor(panelId) {
    return document.getElementById(PENDING_PREFIX + panelId.slice(PANEL_PREFIX.length));
  }

  function clearSlot(panelId) {
    var slot = slotFor(panelId);
    if (slot) {
      var empty = document.createElement('div');
      empty.id = slot.id;
      empty.className = 'pending-slot';
      slot.replaceWith(empty);
    }
  }

  function forget(panelId) {
    var entry = pending[panelId];
    if (entry) {
      clearTimeout(entry.timer);
      delete pending[panelId];
    }
  }

  function markLate(panelId) {
    var entry = pending[panelId];
    if (!entry) {
      return;
    }
    entry.late = true;
    var slot = slotFor(panelId);
    if (slot && slot.hasAttribute('data-expect-key')) {
      showLate(slot);
      entry.html = slot.outerHTML;
    }
  }

  function showLate(marker) {
    // The marker is a polite live region (role="status"): the new words are read out.
    marker.classList.add('pending--late');
    var icon = marker.querySelector('.pending__icon');
    var text = marker.querySelector('.pending__text');
    if (icon) {
      icon.textContent = '\u26a0\ufe0e';
    }
    if (text) {
      text.textContent = marker.getAttribute('data-text-late') || text.textContent;
    }
  }

  /** A marker arrived (the action's answer): track it, or drop it if already confirmed. */
  function track(marker) {
    var panel = marker.closest('[data-agent-panel]');
    if (!panel) {
      return;
    }
    var key = marker.getAttribute('data-expect-key');
    var value = marker.getAttribute('data-expect-value');
    forget(panel.id);
    if (matches(panel, key, value)) {
      clearSlot(panel.id); // the live feed was quicker than the answer
      return;
    }
    var seconds = parseFloat(marker.getAttribute('data-pending-seconds'));
    var entry = { html: marker.outerHTML, key: key, value: value, late: false, timer: null };
    pending[panel.id] = entry;
    entry.timer = setTimeout(function () {
      markLate(panel.id);
    }, (isFinite(seconds) && seconds > 0 ? seconds : 10) * 1000);
  }

  /** The live feed replaced a panel: confirmed, or the marker goes back in. */
  function panelSwapped(panel) {
    var entry = pending[panel.id];
    if (!entry) {
      return;
    }
    if (matches(panel, entry.key, entry.value)) {
      forget(panel.id);
      return;
    }
    var slot = slotFor(panel.id);
    if (slot) {
      var holder = document.createElement('div');
      holder.innerHTML = entry.html;
      var marker = holder.firstElementChild;
      marker.removeAttribute('hx-swap-oob');
      slot.replaceWith(marker);
    }
  }

  // ------------------------------------------------------------------ live swaps of a panel

  // What the old panel had open and focused, by element id, until the new one is in.
  var kept = null;

  document.addEventListener('htmx:oobBeforeSwap', function (e) {
    var target = e.detail.target;
    if (!target || !target.hasAttribute || !target.hasAttribute('data-agent-panel')) {
      return;
    }
    var open = [];
    target.querySelectorAll('details[id][open]').forEach(function (d) {
      open.push(d.id);
    });
    var active = document.activeElement;
    kept = {
      panel: target.id,
      open: open,
      focus: active && active.id && target.contains(active) ? active.id : null,
    };
  });

  document.addEventListener('htmx:oobAfterSwap', function (e) {
    var elt = e.target;
    if (!elt || !elt.hasAttribute) {
      return;
    }
    if (elt.hasAttribute('data-expect-key')) {
      track(elt);
      return;
    }
    if (!elt.hasAttribute('data-agent-panel')) {
      return;
    }
    if (kept && kept.panel === elt.id) {
      kept.open.forEach(function (id) {
        var d = document.getElementById(id);
        if (d) {
          d.open = true;
        }
      });
      if (kept.focus) {
        var f = document.getElementById(kept.focus);
        if (f) {
          f.focus({ preventScroll: true });
        }
      }
      kept = null;
    }
    panelSwapped(elt);
  });

  window.clarityActions = {
    /** What the panels are waiting for, for debugging and tests. */
    pending: function () {
      var out = {};
      Object.keys(pending).forEach(function (id) {
        out[id] = { key: pending[id].key, value: pending[id].value, late: pending[id].late };
      });
      return out;
    },
  };
})();
