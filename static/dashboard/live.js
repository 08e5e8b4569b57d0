/*
 * live.js: the browser side of the dashboard's live protocol (docs/browser-protocol.md).
 *
 * Loaded with `defer` after htmx and the htmx ws extension, so that it runs before htmx
 * processes the page (htmx does that on DOMContentLoaded). Configured only through data-*
 * attributes: no inline script, so a CSP without 'unsafe-inline' works.
 *
 * What it does:
 * - reads the metadata comment that starts every pushed message and drops or accepts the
 *   message by (epoch, seq); asks for a snapshot ({"type":"resync"}) on a gap or a new epoch;
 * - reconnects after every close, whatever the code, with backoff and jitter, and when the
 *   socket stays silent for two heartbeat periods;
 * - tells the server, every 5 s, the last seq it has read ({"type":"ack","seq":n}), so
 *   that the server stops queueing diffs for a page that does not keep up (it sends a fresh
 *   snapshot once the page catches up);
 * - reloads the page after a deploy, when the server asks, and after a long outage;
 * - keeps the freshness indicator (#live-status) and body.is-stale up to date;
 * - ticks [data-since] durations, [data-clock] clocks and [data-live-age] data ages every second;
 * - shows toasts (and beeps, if sound is on) for new elements with data-toast.
 *
 * The socket lives on the element #live-socket (base.html); a reconnect replaces that element
 * with a fresh copy and lets htmx process it, which is the one way to get a new socket from the
 * ws extension without the extension's own reconnect logic getting in the way.
 */
(function () {
  'use strict';

  if (window.clarityLive !== undefined) {
    return; // loaded twice
  }
  window.clarityLive = null; // the debugging handle, set by init() on live pages

  var SOCKET_ID = 'live-socket';
  var STATUS_ID = 'live-status';
  var TOASTS_ID = 'toasts';
  var SOUND_ID = 'sound-toggle';
  var SOUND_KEY = 'clarity-live:sound';
  var RELOAD_KEY_PREFIX = 'clarity-live:reloaded:';
  var META_RE = /^\s*<!--live\s([\s\S]*?)-->/;
  var KINDS = { snapshot: 1, diff: 1, heartbeat: 1, reload: 1 };
  // Close code a consumer uses when the session is gone: the page reloads (and so lands on the
  // login page) instead of knocking on the socket forever.
  var CLOSE_SESSION_ENDED = 4401;
  // How often the page tells the server what it has read ({"type":"ack"}).
  var ACK_EVERY_MS = 5000;
  // Close code the page uses when it drops a socket itself (silence, resync timeout, ...).
  var CLOSE_CLIENT_RECONNECT = 4000;
  var MAX_TOASTS = 5;
  var MAX_SEEN_TOASTS = 2000;

  function now() {
    return Date.now();
  }

  function num(value, fallback) {
    var n = parseFloat(value);
    return isFinite(n) && n > 0 ? n : fallback;
  }

  function pad(n) {
    return n < 10 ? '0' + n : String(n);
  }

  /** HH:MM:SS (or HH:MM) in the browser's time zone. */
  function formatTime(ms, withSeconds) {
    var d = new Date(ms);
    var s = pad(d.getHours()) + ':' + pad(d.getMinutes());
    return withSeconds === false ? s : s + ':' + pad(d.getSeconds());
  }

  /** m:ss under an hour, h:mm:ss from an hour on. */
  function formatElapsed(ms) {
    var total = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    return h > 0 ? h + ':' + pad(m) + ':' + pad(s) : m + ':' + pad(s);
  }

  function parseMeta(message) {
    if (typeof message !== 'string') {
      return null;
    }
    var match = META_RE.exec(message);
    if (!match) {
      return null;
    }
    try {
      var meta = JSON.parse(match[1]);
      return meta && typeof meta === 'object' && KINDS[meta.kind] ? meta : null;
    } catch (e) {
      return null;
    }
  }

  // ---------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------

  var loadedAt = now();
  var S = {
    active: false, // the page has a live socket at all
    elt: null, // the current #live-socket element
    url: null, // its websocket URL, as the extension resolved it
    sock: null, // the current WebSocket
    wrapper: null, // the extension's socket wrapper (publicInterface) of the open socket
    armed: false, // htmx is about to create the socket of S.elt
    urls: {}, // the socket URLs live.js opened: the extension's own retries of them are refused
    open: false,
    everSynced: false, // a snapshot has arrived since the page loaded
    // (epoch, seq) of the last accepted message on this connection; synced = a snapshot has
    // arrived on it and no gap has been seen since.
    epoch: null,
    seq: null,
    synced: false,
    acked: null, // the last seq this page told the server it has read (on this connection)
    ackAt: 0, // when it said so
    awaiting: false, // a resync was requested and its snapshot has not arrived yet
    resyncAt: 0,
    lastMsg: loadedAt, // any message at all (heartbeats included)
    lastGood: loadedAt, // the page was known to be current (the server rendered it then)
    attemptAt: loadedAt, // the current socket was asked for
    outageSince: null, // set while the page is not current; cleared by a snapshot
    attempts: 0, // reconnects since the last snapshot, for the backoff
    timer: null, // pending reconnect
    probing: false,
    reloading: false,
    upstreamDown: false,
    upstreamSince: null,
    age: null, // seconds: how old the data was (meta.age) when ageAt (our clock) came
    ageAt: null,
    clockOffset: 0, // server clock minus ours, from meta.now
    status: null, // last rendered status key
  };

  var config = {
    heartbeat: 15, // seconds
    reloadAfter: 600, // seconds
    backoffMin: 0.5, // seconds
    backoffMax: 10, // seconds
    build: '',
  };

  function readConfig() {
    var sources = [S.elt, document.body];
    function attr(name) {
      for (var i = 0; i < sources.length; i++) {
        var el = sources[i];
        if (el && el.hasAttribute(name)) {
          return el.getAttribute(name);
        }
      }
      return null;
    }
    config.heartbeat = num(attr('data-heartbeat'), 15);
    config.reloadAfter = num(attr('data-reload-after'), 600);
    config.backoffMin = num(attr('data-backoff-min'), 0.5);
    config.backoffMax = Math.max(config.backoffMin, num(attr('data-backoff-max'), 10));
    config.build = attr('data-build') || '';
    var scale = attr('data-font-scale');
    if (scale && num(scale, 0)) {
      // Through the CSSOM: a style attribute would need 'unsafe-inline' in the CSP.
      document.documentElement.style.setProperty('--font-scale', String(num(scale, 1)));
    }
  }

  function staleAfter() {
    return 2 * config.heartbeat * 1000;
  }

  function serverNow() {
    return now() + S.clockOffset;
  }

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  // ---------------------------------------------------------------------------------------
  // Socket lifecycle
  // ---------------------------------------------------------------------------------------

  /** An object that looks like a closed WebSocket, for extension retries we do not want. */
  function inertSocket() {
    return {
      readyState: 3,
      CONNECTING: 0,
      OPEN: 1,
      CLOSING: 2,
      CLOSED: 3,
      binaryType: 'blob',
      send: function () {},
      close: function () {},
      addEventListener: function () {},
      removeEventListener: function () {},
    };
  }

  function installSocketFactory() {
    htmx.createWebSocket = function (url) {
      if (S.armed) {
        S.armed = false;
        S.urls[url] = true;
        var sock = new WebSocket(url, []);
        sock.binaryType = htmx.config.wsBinaryType || 'blob';
        S.sock = sock;
        return sock;
      }
      if (S.urls[url]) {
        // The extension retries by itself after close codes 1006/1011/1012/1013, on the
        // element it created the socket for (with or without ?reconnect=1). live.js owns
        // reconnecting (after every close, on a fresh element), so that retry gets a socket
        // that never opens.
        return inertSocket();
      }
      var other = new WebSocket(url, []);
      other.binaryType = htmx.config.wsBinaryType || 'blob';
      return other;
    };
  }

  function backoffDelay() {
    var base = Math.min(config.backoffMax, config.backoffMin * Math.pow(2, S.attempts)) * 1000;
    S.attempts += 1;
    // "Equal jitter": between half and all of the exponential delay.
    return base / 2 + Math.random() * (base / 2);
  }

  function scheduleReconnect() {
    if (S.timer || S.reloading) {
      return;
    }
    S.timer = setTimeout(function () {
      S.timer = null;
      reconnect();
    }, backoffDelay());
  }

  function markOutage() {
    if (S.outageSince === null) {
      S.outageSince = S.lastGood;
    }
  }

  function closeSocket(reason) {
    var sock = S.sock;
    S.sock = null;
    S.wrapper = null;
    S.open = false;
    S.synced = false;
    S.awaiting = false;
    if (sock && sock.readyState < 2) {
      try {
        sock.close(CLOSE_CLIENT_RECONNECT, reason);
      } catch (e) {
        // closing is best effort
      }
    }
  }

  /** Drops the current socket (if any) and opens a new one on a fresh #live-socket. */
  function reconnect(reason) {
    if (S.timer) {
      clearTimeout(S.timer);
      S.timer = null;
    }
    if (S.reloading) {
      return;
    }
    markOutage();
    if (now() - S.outageSince > config.reloadAfter * 1000) {
      probeAndReload();
    }
    var old = S.elt;
    if (!old || !document.body.contains(old)) {
      old = document.getElementById(SOCKET_ID);
    }
    if (!old) {
      return;
    }
    closeSocket(reason || 'reconnect');
    var fresh = old.cloneNode(false);
    // The server counts reconnects (dashboard_page_connections_total{reconnect="yes"}).
    var url = fresh.getAttribute('ws-connect');
    if (url && url.indexOf('reconnect=1') < 0) {
      fresh.setAttribute('ws-connect', url + (url.indexOf('?') < 0 ? '?' : '&') + 'reconnect=1');
    }
    S.elt = fresh;
    S.attemptAt = now();
    old.parentNode.replaceChild(fresh, old);
    htmx.process(fresh); // -> htmx:beforeProcessNode (arms) -> htmx.createWebSocket
    render();
  }

  function reload(why) {
    if (S.reloading) {
      return;
    }
    S.reloading = true;
    emit('live:reload', { reason: why });
    closeSocket('reload');
    window.location.reload();
  }

  /**
   * After a long outage the page reloads (wallboards run for weeks: the page itself may be
   * out of date), but only once the server answers: a reload while it is down would leave the
   * browser's error page, which never retries.
   */
  function probeAndReload() {
    if (S.probing || S.reloading || !window.fetch) {
      return;
    }
    S.probing = true;
    // GET, not HEAD: a view may allow GET only (Django answers HEAD through GET anyway).
    fetch(window.location.href, {
      method: 'GET',
      headers: { 'X-Live-Probe': '1' },
      cache: 'no-store',
      credentials: 'same-origin',
      redirect: 'manual',
    })
      .then(function (response) {
        // ok, or a redirect (to the login page when the session is gone); not a 502 page.
        if (response.ok || response.type === 'opaqueredirect') {
          reload('outage');
        }
      })
      .catch(function () {})
      .then(function () {
        S.probing = false;
      });
  }

  /**
   * Reloads unless the same reason reloaded this tab less than `minInterval` ms ago
   * (remembered in sessionStorage, which survives the reload). Returns whether it reloads.
   * - 'session' (close code 4401), once a minute: a consumer that keeps rejecting a session
   *   the page view accepts must not make the page reload in a loop;
   * - 'build', every 30 s: during a rolling deploy the page may come from an old worker and
   *   the socket from a new one; the next heartbeat after that retries.
   */
  function reloadAtMostEvery(why, minInterval) {
    var key = RELOAD_KEY_PREFIX + why;
    var last = 0;
    try {
      last = parseInt(window.sessionStorage.getItem(key) || '0', 10) || 0;
    } catch (e) {
      last = 0;
    }
    if (now() - last < minInterval) {
      return false;
    }
    try {
      window.sessionStorage.setItem(key, String(now()));
    } catch (e) {
      // no storage (private mode): no guard
    }
    reload(why);
    return true;
  }

  function sendResync() {
    S.synced = false;
    if (S.awaiting) {
      return; // one request per gap; the watchdog reconnects if its snapshot never comes
    }
    S.awaiting = true;
    S.resyncAt = now();
    emit('live:resync', { epoch: S.epoch, seq: S.seq });
    if (S.wrapper) {
      S.wrapper.send(JSON.stringify({ type: 'resync' }));
    }
  }

  function applyUpstream(meta) {
    if (meta.upstream === 'down') {
      var since = meta.since ? Date.parse(meta.since) : NaN;
      S.upstreamSince = !isNaN(since) ? since : S.upstreamSince || now();
      S.upstreamDown = true;
    } else if (meta.upstream === 'ok') {
      S.upstreamDown = false;
      S.upstreamSince = null;
    }
    if (typeof meta.age === 'number') {
      S.age = meta.age;
      S.ageAt = now();
    }
  }

  function accept(meta) {
    S.epoch = meta.epoch;
    S.seq = meta.seq;
    S.lastGood = now();
    applyUpstream(meta);
  }

  /** Decides what to do with one pushed message; returns false to drop it (no swap). */
  function handleMessage(message) {
    var t = now();
    S.lastMsg = t;
    var meta = parseMeta(message);
    if (!meta) {
      if (window.console) {
        console.warn('live: dropped a message without a valid <!--live {...}--> header');
      }
      return false;
    }
    if (typeof meta.now === 'string') {
      var serverTime = Date.parse(meta.now);
      if (!isNaN(serverTime)) {
        S.clockOffset = serverTime - t;
      }
    }
    if (meta.kind === 'reload') {
      reload('server');
      return false;
    }
    if (meta.build && config.build && meta.build !== config.build) {
      if (reloadAtMostEvery('build', 30000)) {
        return false;
      }
    }
    var seq = typeof meta.seq === 'number' ? meta.seq : NaN;
    if (meta.kind === 'snapshot') {
      if (isNaN(seq)) {
        return false;
      }
      accept(meta);
      S.synced = true;
      S.everSynced = true;
      S.awaiting = false;
      S.attempts = 0;
      S.outageSince = null;
      return true;
    }
    if (!S.synced) {
      // Before the first snapshot of this connection, or while waiting for the one a resync
      // asked for: nothing can be applied safely.
      return false;
    }
    if (meta.kind === 'diff') {
      if (isNaN(seq) || meta.epoch !== S.epoch || seq > S.seq + 1) {
        sendResync();
        return false;
      }
      if (seq <= S.seq) {
        return false; // old or duplicate
      }
      accept(meta);
      return true;
    }
    // heartbeat: carries the current (epoch, seq) and consumes none
    if (meta.epoch !== S.epoch || isNaN(seq) || seq > S.seq) {
      sendResync();
      return false;
    }
    S.lastGood = t;
    applyUpstream(meta);
    return false;
  }

  // ---------------------------------------------------------------------------------------
  // Freshness indicator
  // ---------------------------------------------------------------------------------------

  function computeStatus(t) {
    if (S.upstreamDown) {
      return { state: 'stale', since: S.upstreamSince, reason: 'upstream' };
    }
    if (S.open && S.synced && t - S.lastMsg <= staleAfter()) {
      return { state: 'live' };
    }
    if (t - S.lastGood <= staleAfter()) {
      return { state: S.everSynced ? 'reconnecting' : 'connecting' };
    }
    return { state: 'stale', since: S.lastGood, reason: S.open ? 'silent' : 'offline' };
  }

  function text(el, name, fallback) {
    return (el && el.getAttribute('data-text-' + name)) || fallback;
  }

  function render() {
    if (!S.active) {
      return;
    }
    var status = computeStatus(now());
    var key = status.state + '|' + (status.since || '') + '|' + (status.reason || '');
    if (key === S.status) {
      return;
    }
    S.status = key;
    var body = document.body;
    body.classList.toggle('is-stale', status.state === 'stale');
    body.classList.toggle(
      'is-reconnecting',
      status.state === 'reconnecting' || status.state === 'connecting'
    );
    var el = document.getElementById(STATUS_ID);
    if (el) {
      var label;
      var detail = '';
      if (status.state === 'stale') {
        label = text(el, 'stale', 'Stale since {time}').replace(
          '{time}',
          formatTime(status.since || now())
        );
        detail = text(
          el,
          status.reason,
          { upstream: 'Clarity unreachable', offline: 'reconnecting…', silent: 'no updates' }[
            status.reason
          ]
        );
      } else {
        label = text(
          el,
          status.state,
          { live: 'Live', reconnecting: 'Reconnecting…', connecting: 'Connecting…' }[status.state]
        );
      }
      el.setAttribute('data-state', status.state);
      var labelEl = el.querySelector('.live-status__label');
      var detailEl = el.querySelector('.live-status__detail');
      if (labelEl) {
        labelEl.textContent = label;
      } else {
        el.textContent = label;
      }
      if (detailEl) {
        detailEl.textContent = detail;
        detailEl.hidden = !detail;
      }
      el.hidden = false;
    }
    emit('live:status', status);
  }

  // ---------------------------------------------------------------------------------------
  // Ticking timers and clocks
  // ---------------------------------------------------------------------------------------

  function tickDom() {
    var t = serverNow();
    var els = document.querySelectorAll('[data-since]');
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var since = Date.parse(el.getAttribute('data-since'));
      var value = isNaN(since) ? '' : formatElapsed(t - since);
      // Writes only, and only when the text changes: no layout reads, no thrash.
      if (el.textContent !== value) {
        el.textContent = value;
      }
    }
    // The data's age keeps growing while nothing new arrives (an outage, a silent server).
    var ages = document.querySelectorAll('[data-live-age]');
    var age = S.ageAt === null ? '—' : formatElapsed(S.age * 1000 + (now() - S.ageAt));
    for (var k = 0; k < ages.length; k++) {
      if (ages[k].textContent !== age) {
        ages[k].textContent = age;
      }
    }
    var clocks = document.querySelectorAll('[data-clock]');
    for (var j = 0; j < clocks.length; j++) {
      var clock = clocks[j];
      var withSeconds = clock.getAttribute('data-clock') === 'seconds';
      var now_ = formatTime(t, withSeconds);
      if (clock.textContent !== now_) {
        clock.textContent = now_;
      }
    }
  }

  function sendAck() {
    // Every few seconds: each frame a page sends costs the server a task switch, and 1000
    // wallboards acking every second were a measurable share of its time (docs/benchmarks.md).
    if (S.wrapper && S.open && typeof S.seq === 'number' && S.seq !== S.acked &&
        now() - S.ackAt >= ACK_EVERY_MS) {
      S.acked = S.seq;
      S.ackAt = now();
      S.wrapper.send(JSON.stringify({ type: 'ack', seq: S.seq }));
    }
  }

  function watchdog() {
    if (!S.active || S.reloading) {
      return;
    }
    sendAck();
    var t = now();
    if (!S.timer) {
      var quiet = t - Math.max(S.lastMsg, S.attemptAt);
      if (quiet > staleAfter()) {
        // Open but silent, or stuck connecting: drop it and start again.
        S.attempts += 1;
        reconnect('silence');
      } else if (S.awaiting && t - S.resyncAt > staleAfter()) {
        reconnect('resync timeout');
      }
    }
    render();
  }

  function loop() {
    watchdog();
    if (!document.hidden) {
      window.requestAnimationFrame(tickDom);
    }
    // On the second boundary, so that every timer on the page changes at once; more often
    // when the heartbeat is short (tests).
    var period = Math.min(1000, Math.max(100, (config.heartbeat * 1000) / 2));
    var delay = period === 1000 ? 1000 - (now() % 1000) + 5 : period;
    setTimeout(loop, delay);
  }

  // ---------------------------------------------------------------------------------------
  // Toasts and sound
  // ---------------------------------------------------------------------------------------

  var seenToasts = new Set();
  var audio = null;
  var lastBeep = 0;

  function soundOn() {
    try {
      return window.localStorage.getItem(SOUND_KEY) === 'on';
    } catch (e) {
      return false;
    }
  }

  function beep(level) {
    // One beep for a burst of toasts (e.g. a snapshot after an outage), not one each.
    if (!soundOn() || now() - lastBeep < 1000) {
      return false;
    }
    lastBeep = now();
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) {
        return false;
      }
      audio = audio || new Ctx();
      if (audio.state === 'suspended') {
        audio.resume();
      }
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      var t = audio.currentTime;
      osc.type = 'sine';
      osc.frequency.value = level === 'critical' ? 880 : 660;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.3);
      return true;
    } catch (e) {
      return false;
    }
  }

  function toastKey(el) {
    return el.getAttribute('data-toast-key') || el.id || el.getAttribute('data-toast');
  }

  function remember(key) {
    seenToasts.add(key);
    if (seenToasts.size > MAX_SEEN_TOASTS) {
      seenToasts.delete(seenToasts.values().next().value);
    }
  }

  function showToast(el) {
    var region = document.getElementById(TOASTS_ID);
    var message = el.getAttribute('data-toast');
    var level = el.getAttribute('data-toast-level') || 'info';
    if (region && message) {
      var toast = document.createElement('div');
      toast.className = 'toast toast--' + level;
      var icon = document.createElement('span');
      icon.className = 'toast__icon';
      icon.setAttribute('aria-hidden', 'true');
      var body = document.createElement('span');
      body.className = 'toast__text';
      body.textContent = message;
      var close = document.createElement('button');
      close.type = 'button';
      close.className = 'toast__close';
      close.textContent = '×';
      close.setAttribute('aria-label', region.getAttribute('data-text-dismiss') || 'Dismiss');
      close.addEventListener('click', function () {
        toast.remove();
      });
      toast.appendChild(icon);
      toast.appendChild(body);
      toast.appendChild(close);
      region.appendChild(toast);
      while (region.children.length > MAX_TOASTS) {
        region.removeChild(region.firstElementChild);
      }
      var seconds = num(el.getAttribute('data-toast-timeout'), 10);
      setTimeout(function () {
        toast.remove();
      }, seconds * 1000);
    }
    var played = beep(level);
    emit('live:toast', { message: message, level: level, sound: played });
  }

  function scanToasts(root, announce) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    var found = Array.prototype.slice.call(root.querySelectorAll('[data-toast]'));
    if (root.hasAttribute && root.hasAttribute('data-toast')) {
      found.unshift(root);
    }
    for (var i = 0; i < found.length; i++) {
      var key = toastKey(found[i]);
      if (!key || seenToasts.has(key)) {
        continue;
      }
      remember(key);
      if (announce) {
        showToast(found[i]);
      }
    }
  }

  function initSoundToggle() {
    var button = document.getElementById(SOUND_ID);
    if (!button) {
      return;
    }
    function sync() {
      button.setAttribute('aria-pressed', soundOn() ? 'true' : 'false');
    }
    button.addEventListener('click', function () {
      var on = !soundOn();
      try {
        window.localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
      } catch (e) {
        // no storage: the toggle cannot be remembered
      }
      sync();
      if (on) {
        beep('info'); // inside the click, so the browser lets the AudioContext start
      }
    });
    window.addEventListener('storage', function (e) {
      if (e.key === SOUND_KEY) {
        sync();
      }
    });
    sync();
    button.hidden = false;
  }

  // ---------------------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------------------

  function isCurrent(evt) {
    return S.elt !== null && evt.target === S.elt;
  }

  function init() {
    if (!window.htmx) {
      if (window.console) {
        console.error('live: htmx is not loaded; load htmx and the ws extension before live.js');
      }
      return;
    }
    S.elt = document.getElementById(SOCKET_ID);
    readConfig();
    initSoundToggle();
    scanToasts(document.body, false);
    document.addEventListener('htmx:load', function (e) {
      scanToasts(e.target, true);
    });

    var socketElt = S.elt;
    if (!socketElt || !socketElt.getAttribute('ws-connect')) {
      var status = document.getElementById(STATUS_ID);
      if (status) {
        status.hidden = true; // nothing live on this page
      }
      tickDom();
      loop();
      return;
    }
    if (!socketElt.hasAttribute('hx-ext') && !socketElt.hasAttribute('data-hx-ext')) {
      socketElt.setAttribute('hx-ext', 'ws');
    }
    S.active = true;
    installSocketFactory();

    document.addEventListener('htmx:beforeProcessNode', function (e) {
      if (isCurrent(e) && e.target.getAttribute('ws-connect')) {
        S.armed = true;
      }
    });
    document.addEventListener('htmx:afterProcessNode', function (e) {
      if (isCurrent(e)) {
        S.armed = false; // only the processing of S.elt itself may create the real socket
      }
    });
    document.addEventListener('htmx:wsOpen', function (e) {
      if (!isCurrent(e)) {
        return;
      }
      S.open = true;
      S.wrapper = e.detail.socketWrapper;
      S.synced = false;
      S.awaiting = false;
      S.epoch = null;
      S.seq = null;
      S.acked = null;
      S.lastMsg = now();
      if (S.outageSince !== null && now() - S.outageSince > config.reloadAfter * 1000) {
        reload('outage');
        return;
      }
      render();
    });
    document.addEventListener('htmx:wsBeforeMessage', function (e) {
      if (!isCurrent(e)) {
        return;
      }
      if (!handleMessage(e.detail.message)) {
        e.preventDefault();
      }
      render();
    });
    document.addEventListener('htmx:wsClose', function (e) {
      if (!isCurrent(e)) {
        return;
      }
      var code = e.detail && e.detail.event ? e.detail.event.code : 0;
      closeSocket('closed');
      markOutage();
      if (code === CLOSE_SESSION_ENDED && reloadAtMostEvery('session', 60000)) {
        return;
      }
      scheduleReconnect();
      render();
    });
    window.addEventListener('online', function () {
      if (!S.open) {
        reconnect('online');
      }
    });
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden) {
        tickDom();
        watchdog();
      }
    });

    window.clarityLive = {
      /** A copy of the connection state, for debugging from the console. */
      state: function () {
        return {
          open: S.open,
          epoch: S.epoch,
          seq: S.seq,
          synced: S.synced,
          awaiting: S.awaiting,
          upstreamDown: S.upstreamDown,
          age: S.age,
          attempts: S.attempts,
          status: S.status,
          config: Object.assign({}, config),
        };
      },
      reconnect: function () {
        reconnect('manual');
      },
    };

    render();
    tickDom();
    loop();
  }

  if (document.readyState === 'loading') {
    // Not deferred: wait for the body, and hope htmx has not processed it yet.
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
