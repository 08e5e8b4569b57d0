// Wallboards rotate through their pages on their own; nobody touches a TV.
(function () {
  "use strict";
  function start() {
    var body = document.body;
    var seconds = Math.max(5, Number(body.dataset.rotate) || 30);
    var pages = Array.prototype.slice.call(document.querySelectorAll(".wallboard-page"));
    if (pages.length < 2) return;
    var current = 0;
    setInterval(function () {
      pages[current].hidden = true;
      current = (current + 1) % pages.length;
      pages[current].hidden = false;
    }, seconds * 1000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
