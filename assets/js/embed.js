// berth's booking widget. Paste into a page of a site the operator listed in its embed origins
// (PUT /v1/operator/embed-origins):
//   <script src="https://berth.example/embed.js" data-tour="TOUR_ID" async></script>
// or, for all of the operator's tours, data-operator="OPERATOR_ID". It puts berth's booking
// pages in a frame where the script stands, and grows the frame to fit each page (the pages send
// their height with postMessage; only messages from berth's own origin and frame are read).
"use strict";
(function () {
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src).origin;
  var tour = script.getAttribute("data-tour");
  var operator = script.getAttribute("data-operator");
  var path = tour
    ? "/tours/" + encodeURIComponent(tour)
    : operator
      ? "/tours?operator=" + encodeURIComponent(operator)
      : null;
  if (!path) return;
  var frame = document.createElement("iframe");
  frame.src = origin + path;
  frame.title = script.getAttribute("data-title") || "Book online";
  frame.className = "berth-widget";
  frame.style.width = "100%";
  frame.style.border = "0";
  frame.style.height = "640px";
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (data && data.type === "berth:height" && typeof data.height === "number" && data.height > 0) {
      frame.style.height = Math.ceil(data.height) + "px";
    }
  });
})();
