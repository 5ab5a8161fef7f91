// The hold's countdown: how long the seats stay held, updated each second. The page already
// says until when; this only adds minutes and seconds left, and reloads when time is up (the
// server then shows that the hold expired).
"use strict";
(function () {
  var box = document.querySelector(".countdown[data-seconds-left]");
  if (!box) return;
  var out = box.querySelector(".countdown-left");
  var ends = Date.now() + 1000 * Number(box.getAttribute("data-seconds-left"));
  var text = box.getAttribute("data-label");
  function tick() {
    var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    out.textContent = text + " " + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    if (left === 0) {
      clearInterval(timer);
      window.location.reload();
    }
  }
  var timer = setInterval(tick, 1000);
  tick();
})();
