// Inside an operator's widget (a frame on its own site): tell the embedding page how tall this
// page is, so its frame fits without a scroll bar (embed.js listens). Only the height is sent.
"use strict";
(function () {
  if (window.parent === window) return;
  function report() {
    var height = document.documentElement.scrollHeight;
    window.parent.postMessage({ type: "berth:height", height: height }, "*");
  }
  if (window.ResizeObserver) {
    new ResizeObserver(report).observe(document.documentElement);
  }
  window.addEventListener("load", report);
  report();
})();
