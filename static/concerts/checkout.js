/* Checkout: a live countdown to the end of the hold; when it lapses, say so. */
(function () {
  "use strict";
  var box = document.getElementById("checkout");
  var out = document.getElementById("co-countdown");
  if (!box || !out || box.dataset.status !== "HELD") return;
  var end = Date.parse(box.dataset.heldUntil);
  var timer;

  function render() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    out.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    if (left <= 0) {
      clearInterval(timer);
      document.getElementById("co-lapsed").hidden = false;
      box.querySelectorAll("form button").forEach(function (b) { b.disabled = true; });
    }
  }
  render();
  timer = setInterval(render, 1000);
})();
