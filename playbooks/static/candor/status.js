// The status page's optional live countdown (a static file: the Content-Security-Policy allows no inline script).
(function () {
  // Optional: a live countdown next to the absolute time, which is there without JavaScript.
  var el = document.querySelector(".pub-countdown");
  if (!el) return;
  var due = Date.parse(el.getAttribute("data-due"));
  function tick() {
    var minutes = Math.ceil((due - Date.now()) / 60000), text;
    if (minutes <= 0) text = el.getAttribute("data-now");
    else if (minutes < 60) text = el.getAttribute("data-in").replace("{minutes}", minutes);
    else text = el.getAttribute("data-hours").replace("{hours}", Math.floor(minutes / 60)).replace("{minutes}", minutes % 60);
    el.textContent = "(" + text + ")";
  }
  tick();
  setInterval(tick, 30000);
})();
