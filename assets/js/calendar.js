// Arrow keys move between the days of the tour page's calendar (a grid, as the WAI-ARIA
// date-picker pattern does); Tab and Enter work as on any link, with or without this file.
"use strict";
document.addEventListener("keydown", function (event) {
  var link = event.target.closest && event.target.closest(".calendar a[data-date]");
  if (!link) return;
  var step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 }[event.key];
  if (!step) return;
  var links = Array.prototype.slice.call(document.querySelectorAll(".calendar a[data-date]"));
  var day = function (a) { return Date.parse(a.getAttribute("data-date")) / 86400000; };
  var from = day(link);
  var target = null;
  if (step > 0) {
    target = links.filter(function (a) { return day(a) >= from + step; })[0];
  } else {
    target = links.filter(function (a) { return day(a) <= from + step; }).pop();
  }
  if (target) {
    target.focus();
    event.preventDefault();
  }
});
