/*
 * wallboard.js: what a TV needs beyond live.js; nobody touches a TV.
 *
 * - Rotates through the board's pages (.wallboard-page), data-rotate seconds each (on <body>).
 * - Fits each page to the screen: the type is sized by the viewport (dashboard.css: the root
 *   font size follows 100vw / 96 and 100vh / 54, times --font-scale), and when a page's
 *   content would still not fit (many queues, many agents) it shrinks by --fit, the largest
 *   factor at which the page fits (up to 1.25: a sparse page grows a little); a layout with
 *   data-fit-columns also picks its number of columns.
 *   Set through the CSSOM, not a style attribute (CSP).
 *   Re-fitted when a page is shown, when the window is resized, and when live updates make
 *   the page overflow (checked at most once a second, one layout read when nothing changes).
 */
(function () {
  'use strict';

  var MIN_FIT = 0.3;
  var MAX_FIT = 1.25; // a page with little on it may grow a little, not fill the TV with it
  var STEPS = 7; // binary search: about 0.008 of the root size
  var pages = [];
  var current = 0;
  var checkPending = false;

  function setFit(value) {
    document.documentElement.style.setProperty('--fit', String(value));
  }

  function fit() {
    return parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--fit')) || 1;
  }

  function fits(page) {
    var root = document.documentElement;
    return (
      page.scrollHeight <= page.clientHeight + 1 &&
      page.scrollWidth <= page.clientWidth + 1 &&
      root.scrollHeight <= window.innerHeight + 1 &&
      root.scrollWidth <= window.innerWidth + 1
    );
  }

  /** Sets and returns the largest --fit in [MIN_FIT, MAX_FIT] at which the page fits. */
  function fitScale(page) {
    setFit(MAX_FIT);
    if (fits(page)) {
      return MAX_FIT;
    }
    var lo = MIN_FIT;
    var hi = MAX_FIT;
    for (var i = 0; i < STEPS; i++) {
      var mid = (lo + hi) / 2;
      setFit(mid);
      if (fits(page)) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    setFit(lo);
    return lo;
  }

  /**
   * Fits the page. A layout with data-fit-columns="min max" (the queue tiles, the agents'
   * team tables) also gets the number of columns (--wallboard-columns) that lets its type be
   * largest, the fewest unless more are clearly better: how many queues, modalities, teams
   * and agents a board has decides which layout fills the screen best.
   */
  function refit(page) {
    if (!page) {
      return;
    }
    var grid = page.querySelector('[data-fit-columns]');
    var best = { columns: null, fit: 0 };
    if (grid) {
      var range = grid.getAttribute('data-fit-columns').split(' ').map(Number);
      for (var n = range[0]; n <= range[1]; n++) {
        grid.style.setProperty('--wallboard-columns', String(n));
        var f = fitScale(page);
        // More columns only for clearly bigger type: they make every column narrower.
        if (f > best.fit * 1.05) {
          best = { columns: n, fit: f };
        }
      }
      grid.style.setProperty('--wallboard-columns', String(best.columns));
    }
    var fit = fitScale(page);
    document.dispatchEvent(
      new CustomEvent('wallboard:fit', { detail: { fit: fit, columns: best.columns } })
    );
  }

  /** After live updates: shrink if the page no longer fits (growing waits for the next show). */
  function check() {
    if (checkPending) {
      return;
    }
    checkPending = true;
    setTimeout(function () {
      checkPending = false;
      var page = pages[current];
      if (page && !fits(page)) {
        refit(page);
      }
    }, 1000);
  }

  function show(index) {
    pages[current].hidden = true;
    current = index;
    pages[current].hidden = false;
    refit(pages[current]);
    document.dispatchEvent(
      new CustomEvent('wallboard:page', { detail: { page: pages[current].dataset.page } })
    );
  }

  function start() {
    pages = Array.prototype.slice.call(document.querySelectorAll('.wallboard-page'));
    if (!pages.length) {
      return;
    }
    refit(pages[current]);
    var resizeTimer = null;
    window.addEventListener('resize', function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () {
        refit(pages[current]);
      }, 200);
    });
    document.addEventListener('htmx:afterSettle', check);
    document.addEventListener('htmx:oobAfterSwap', check);
    // Live again (the first snapshot, or after an outage): the content may be smaller now.
    document.addEventListener('live:status', function (e) {
      if (e.detail && e.detail.state === 'live') {
        refit(pages[current]);
      }
    });
    // live.js sets --font-scale when it starts; fonts may load late.
    if (document.fonts && document.fonts.ready) {
      document.fonts.ready.then(function () {
        refit(pages[current]);
      });
    }
    window.clarityWallboard = {
      /** Shows page `index` now (tests, or a person at the TV with a keyboard). */
      show: function (index) {
        show(((index % pages.length) + pages.length) % pages.length);
      },
      fit: fit,
    };
    if (pages.length < 2) {
      return;
    }
    var seconds = Math.max(5, Number(document.body.dataset.rotate) || 30);
    setInterval(function () {
      show((current + 1) % pages.length);
    }, seconds * 1000);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
