/* Waiting room: polls the pass's status at the interval the server advises,
   shows position / people ahead / ETA / progress, and moves on when admitted.
   The pure helpers at the top are exported for the tests (node). */
(function (root) {
  "use strict";

  var MAX_BACKOFF_SECONDS = 30;

  /** Seconds until the next poll. After errors, back off (2, 4, 8 … s) but never
      so long that the pass would idle out: at most a third of the time left. */
  function nextDelaySeconds(state) {
    if (!state.errors) return Math.max(1, state.pollAfter || 1);
    var backoff = Math.min(MAX_BACKOFF_SECONDS, Math.pow(2, state.errors));
    var idleLeft = state.idleLeftSeconds;
    if (typeof idleLeft === "number" && isFinite(idleLeft)) {
      backoff = Math.min(backoff, Math.max(1, Math.floor(idleLeft / 3)));
    }
    return Math.max(1, backoff);
  }

  /** Percent of the way from the position at entry to the front. */
  function progressPercent(entryPosition, position) {
    if (!position || !entryPosition) return 0;
    if (entryPosition <= 1) return 100;
    var done = (entryPosition - position) / (entryPosition - 1);
    return Math.max(0, Math.min(100, Math.round(done * 100)));
  }

  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + " s";
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (h) return h + " h " + m + " min";
    return m + " min " + (s < 10 ? "0" : "") + s + " s";
  }

  function headline(status) {
    if (status.status === "ACTIVE") return "It's your turn! Taking you to the seats…";
    if (status.position === null || status.position === undefined) return "You are in the opening draw.";
    if (status.position === 1) return "You are next in line.";
    return "You are number " + status.position.toLocaleString() + " in line.";
  }

  /** A poller around injected fetch/timers/DOM so that tests can drive it. */
  function createPoller(opts) {
    var state = { errors: 0, pollAfter: 1, idleLeftSeconds: opts.idleSeconds || 60, timer: null, done: false, entry: null };

    function schedule() {
      if (state.done) return;
      opts.clearTimeout(state.timer);
      state.timer = opts.setTimeout(poll, nextDelaySeconds(state) * 1000);
    }

    function poll() {
      if (state.done) return Promise.resolve();
      opts.clearTimeout(state.timer);
      return opts
        .fetch(opts.statusUrl, { headers: { "X-Queue-Token": opts.token, Accept: "application/json" }, cache: "no-store" })
        .then(function (res) {
          if (res.status === 410 || res.status === 404) {
            state.done = true;
            opts.onExpired();
            return;
          }
          if (!res.ok) throw new Error("HTTP " + res.status);
          return res.json().then(function (body) {
            state.errors = 0;
            state.pollAfter = body.poll_after_seconds;
            state.idleLeftSeconds = (Date.parse(body.expires_at) - opts.now()) / 1000;
            if (body.position && !state.entry) state.entry = opts.rememberEntry(body.position);
            opts.onStatus(body, progressPercent(state.entry, body.position));
            if (body.status === "ACTIVE") {
              state.done = true;
              opts.onAdmitted();
            }
          });
        })
        .catch(function (err) {
          state.errors += 1;
          opts.onError(err, nextDelaySeconds(state));
        })
        .then(schedule);
    }

    return { poll: poll, state: state, schedule: schedule };
  }

  var api = { nextDelaySeconds: nextDelaySeconds, progressPercent: progressPercent, formatDuration: formatDuration, headline: headline, createPoller: createPoller };
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
    return;
  }

  var el = document.getElementById("waiting-room");
  if (!el || !el.dataset.token) return;
  var $ = function (id) { return document.getElementById(id); };
  var entryKey = "encore-entry-" + el.dataset.token;
  var etaTarget = null;

  var poller = createPoller({
    token: el.dataset.token,
    statusUrl: el.dataset.statusUrl,
    idleSeconds: Number(el.dataset.idleSeconds) || 60,
    fetch: root.fetch.bind(root),
    setTimeout: root.setTimeout.bind(root),
    clearTimeout: root.clearTimeout.bind(root),
    now: Date.now,
    rememberEntry: function (position) {
      var saved = Number(root.sessionStorage.getItem(entryKey));
      if (saved >= position) return saved;
      root.sessionStorage.setItem(entryKey, String(position));
      return position;
    },
    onStatus: function (body, percent) {
      $("wr-error").hidden = true;
      var text = headline(body);
      if ($("wr-headline").textContent !== text) $("wr-headline").textContent = text;
      $("wr-position").textContent = body.position ? body.position.toLocaleString() : "—";
      $("wr-ahead").textContent = body.ahead !== null && body.ahead !== undefined ? body.ahead.toLocaleString() : "—";
      $("wr-eta-label").textContent = body.position ? "Estimated wait" : "Booking opens in";
      $("wr-draw-note").hidden = Boolean(body.position);
      etaTarget = body.eta_seconds === null ? null : Date.now() + body.eta_seconds * 1000;
      renderEta();
      var bar = $("wr-progress");
      bar.firstElementChild.style.width = percent + "%";
      bar.setAttribute("aria-valuenow", String(percent));
    },
    onAdmitted: function () {
      $("wr-progress").firstElementChild.style.width = "100%";
      root.location.assign(el.dataset.nextUrl);
    },
    onExpired: function () {
      $("wr-headline").textContent = "Your place in line has expired.";
      $("wr-rejoin").hidden = false;
    },
    onError: function (err, retryIn) {
      var box = $("wr-error");
      box.textContent = "Connection trouble — retrying in " + retryIn + " s. You keep your place.";
      box.hidden = false;
    },
  });

  function renderEta() {
    $("wr-eta").textContent = etaTarget === null ? "—" : formatDuration((etaTarget - Date.now()) / 1000);
  }
  root.setInterval(renderEta, 1000);
  // Browsers slow timers in hidden tabs; the idle rule allows for it. Poll at once on return.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") poller.poll();
  });
  poller.poll();
})(typeof window !== "undefined" ? window : globalThis);
