/* Staff dashboard: poll the JSON endpoint and redraw the numbers and the chart. */
(function () {
  "use strict";
  var root = document.getElementById("queue-dashboard");
  if (!root) return;
  var $ = function (id) { return document.getElementById(id); };

  function points(series, key, max) {
    if (!series.length) return "";
    var t0 = Date.parse(series[0].at), t1 = Date.parse(series[series.length - 1].at);
    var span = Math.max(1, t1 - t0);
    return series.map(function (p) {
      var x = ((Date.parse(p.at) - t0) / span) * 716 + 2;
      var y = 176 - (p[key] / max) * 170;
      return x.toFixed(1) + "," + y.toFixed(1);
    }).join(" ");
  }

  function render(d) {
    $("qd-waiting").textContent = d.waiting;
    $("qd-active").textContent = d.active;
    $("qd-admitted").textContent = d.admitted_last_minute;
    $("qd-idle").textContent = d.idle_expired_last_minute;
    $("qd-eta").textContent = d.last_in_line_eta_seconds === null ? "—" : d.last_in_line_eta_seconds + " s";
    $("qd-paused").textContent = d.paused ? "paused" : "admitting";
    $("qd-batch").textContent = d.batch;
    $("qd-cap").textContent = d.cap;
    var max = Math.max(1, Math.max.apply(null, d.series.map(function (p) { return Math.max(p.waiting, p.active); })));
    $("qd-line-waiting").setAttribute("points", points(d.series, "waiting", max));
    $("qd-line-active").setAttribute("points", points(d.series, "active", max));
  }

  function tick() {
    fetch(root.dataset.url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(render)
      .catch(function () {})
      .then(function () { setTimeout(tick, 2000); });
  }
  tick();
})();
