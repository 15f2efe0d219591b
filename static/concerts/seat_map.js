/* Seat map: refresh seat states every few seconds without reloading the page. */
(function () {
  "use strict";
  var form = document.getElementById("seat-map");
  if (!form) return;
  var REFRESH_MS = 3000;

  function apply(data) {
    data.seats.forEach(function (seat) {
      var button = form.querySelector('[data-number="' + seat.number + '"]');
      if (!button) return;
      var state = seat.mine ? "mine" : seat.status.toLowerCase();
      button.classList.remove("available", "held", "sold", "mine");
      button.classList.add(state);
      // Your own hold stays clickable: it leads back to its checkout.
      button.disabled = seat.status !== "AVAILABLE" && !(seat.mine && seat.status === "HELD");
      var label = button.getAttribute("aria-label").replace(/, [a-z]+$/, ", " + (seat.mine ? "yours" : state));
      button.setAttribute("aria-label", label);
    });
    document.getElementById("sm-available").textContent = data.available.length;
    document.getElementById("sm-updated").textContent = "Updated " + new Date().toLocaleTimeString() + ".";
  }

  function refresh() {
    fetch(form.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-cache" })
      .then(function (r) {
        if (r.status === 403) { window.location.reload(); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) { if (data) apply(data); })
      .catch(function () {})
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }
  // A click shows at once that the request is on its way.
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button) { button.classList.add("pending"); button.setAttribute("aria-busy", "true"); }
  });
  setTimeout(refresh, REFRESH_MS);
})();
