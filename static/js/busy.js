/* Buttons with data-busy-text say at once that the request is on its way, and a
   second click does not send it again. Back-button returns make them usable again. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (!button || !button.dataset.busyText) return;
    if (button.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
    button.dataset.idleText = button.textContent;
    button.textContent = button.dataset.busyText;
    button.setAttribute("aria-busy", "true");
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll('button[aria-busy="true"]').forEach(function (button) {
      button.removeAttribute("aria-busy");
      if (button.dataset.idleText) button.textContent = button.dataset.idleText;
    });
  });
})();
