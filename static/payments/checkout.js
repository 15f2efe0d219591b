/* Checkout: a live countdown to the end of the hold; when it lapses, say so.
   Screen readers hear the time left only at a few milestones, not every second. */
(function () {
  "use strict";
  var box = document.getElementById("checkout");
  var out = document.getElementById("co-countdown");
  if (!box || !out || box.dataset.status !== "HELD") return;
  var end = Date.parse(box.dataset.heldUntil);
  var announce = document.getElementById("co-announce");
  var MILESTONES = [240, 180, 120, 60, 30, 10];
  var announced = null;
  var timer;

  function spoken(left) {
    if (left >= 60) return Math.round(left / 60) + (left >= 120 ? " minutes" : " minute") + " left to pay.";
    return left + " seconds left to pay.";
  }

  function render() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    out.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    out.parentNode.classList.toggle("urgent", left <= 30);
    var due = MILESTONES.filter(function (t) { return left <= t; }).pop();
    if (announce && due !== undefined && due !== announced && left > 0) {
      announced = due;
      announce.textContent = spoken(left);
    }
    if (left <= 0) {
      clearInterval(timer);
      document.getElementById("co-lapsed").hidden = false;
      // Nothing left to pay or release: the buttons go, the way back to the map stays.
      box.querySelectorAll("form button").forEach(function (b) { b.disabled = true; });
      box.querySelectorAll(".actions, .balance").forEach(function (el) { el.hidden = true; });
    }
  }

  render();
  timer = setInterval(render, 1000);
})();
