/* Candor console: live countdowns and a confirmation before irreversible actions. No build step. */
(function () {
  "use strict";

  function words(minutes) {
    if (minutes >= 48 * 60) return Math.floor(minutes / (24 * 60)) + " days";
    if (minutes >= 60) return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
    return minutes + " min";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (element) {
      var due = Date.parse(element.getAttribute("datetime"));
      if (isNaN(due)) return;
      var seconds = Math.round((due - now) / 1000);
      var minutes = Math.floor(Math.abs(seconds) / 60);
      var overdue = seconds < 0;
      element.textContent = overdue ? "overdue by " + words(minutes) : "in " + words(minutes);
      element.classList.toggle("overdue", overdue);
      var row = element.closest("tr, li, .next-update");
      if (row) row.classList.toggle("overdue", overdue);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 15000);
})();
