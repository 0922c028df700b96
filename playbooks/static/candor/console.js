/* Candor console: live countdowns and a confirmation before irreversible actions. No build step. */
(function () {
  "use strict";

  // The reader's words, from the page ({% countdown_words %}): "in %(duration)s", "%(minutes)s min", ...
  var WORDS = null;

  function fill(pattern, values) {
    return pattern.replace(/%\((\w+)\)s/g, function (match, name) {
      return values[name];
    });
  }

  // As candor.helpers.duration_words says a whole number of minutes.
  function words(minutes) {
    var hours = Math.floor(minutes / 60);
    if (hours >= 48) {
      var days = Math.floor(hours / 24);
      return fill(hours % 24 ? WORDS.days_hours : WORDS.days, { days: days, hours: hours % 24 });
    }
    if (hours >= 1) {
      return fill(minutes % 60 ? WORDS.hours_minutes : WORDS.hours, { hours: hours, minutes: minutes % 60 });
    }
    return minutes ? fill(WORDS.minutes, { minutes: minutes }) : fill(WORDS.seconds, { seconds: 0 });
  }

  function tick() {
    var source = document.getElementById("countdown-words");
    if (!source) return;
    WORDS = WORDS || JSON.parse(source.textContent);
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (element) {
      var due = Date.parse(element.getAttribute("datetime"));
      if (isNaN(due)) return;
      var seconds = Math.round((due - now) / 1000);
      var minutes = Math.floor(Math.abs(seconds) / 60);
      var overdue = seconds < 0;
      element.textContent = fill(overdue ? WORDS.overdue : WORDS["in"], { duration: words(minutes) });
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
