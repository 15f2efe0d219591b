// Exercises the waiting room's polling logic with a fake fetch and fake timers.
const test = require("node:test");
const assert = require("node:assert");
const path = require("node:path");
const wr = require(path.join(process.env.ENCORE_ROOT, "static/queue_app/waiting_room.js"));

test("advised interval is used, with a 1 s floor", () => {
  assert.strictEqual(wr.nextDelaySeconds({ errors: 0, pollAfter: 7 }), 7);
  assert.strictEqual(wr.nextDelaySeconds({ errors: 0, pollAfter: 0 }), 1);
});

test("errors back off exponentially but never past a third of the idle time left", () => {
  assert.deepStrictEqual([1, 2, 3, 4, 5, 6].map((errors) => wr.nextDelaySeconds({ errors, idleLeftSeconds: 1000 })), [2, 4, 8, 16, 30, 30]);
  assert.strictEqual(wr.nextDelaySeconds({ errors: 5, idleLeftSeconds: 60 }), 20);
  assert.strictEqual(wr.nextDelaySeconds({ errors: 5, idleLeftSeconds: 1 }), 1);
});

test("progress runs from the entry position to the front", () => {
  assert.strictEqual(wr.progressPercent(101, 101), 0);
  assert.strictEqual(wr.progressPercent(101, 51), 50);
  assert.strictEqual(wr.progressPercent(101, 1), 100);
  assert.strictEqual(wr.progressPercent(1, 1), 100);
  assert.strictEqual(wr.progressPercent(null, 5), 0);
});

test("durations read like a person would say them", () => {
  assert.strictEqual(wr.formatDuration(42), "42 s");
  assert.strictEqual(wr.formatDuration(125), "2 min 05 s");
  assert.strictEqual(wr.formatDuration(3 * 3600 + 60), "3 h 1 min");
});

function harness(responses) {
  const timers = [];
  const seen = { statuses: [], admitted: 0, expired: 0, errors: [], headers: [] };
  let clock = Date.parse("2026-12-01T10:00:00Z");
  const poller = wr.createPoller({
    token: "tok",
    statusUrl: "/api/v1/queue/status",
    idleSeconds: 60,
    now: () => clock,
    fetch: (url, init) => {
      seen.headers.push(init.headers["X-Queue-Token"]);
      const next = responses.shift();
      if (next instanceof Error) return Promise.reject(next);
      return Promise.resolve({ status: next.status, ok: next.status < 400, json: () => Promise.resolve(next.body) });
    },
    setTimeout: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    clearTimeout: () => {},
    rememberEntry: (p) => p,
    onStatus: (body, pct) => seen.statuses.push([body.position, pct]),
    onAdmitted: () => { seen.admitted += 1; },
    onExpired: () => { seen.expired += 1; },
    onError: (err, retry) => seen.errors.push(retry),
  });
  return { poller, timers, seen, advance: (ms) => { clock += ms; } };
}

const waiting = (position, pollAfter) => ({
  status: 200,
  body: { status: "WAITING", position, ahead: position - 1, eta_seconds: position, poll_after_seconds: pollAfter, expires_at: "2026-12-01T10:01:00Z" },
});

test("polls at the advised interval, backs off on errors, moves on when admitted", async () => {
  const { poller, timers, seen } = harness([
    waiting(11, 5),
    new Error("network down"),
    waiting(6, 3),
    { status: 200, body: { status: "ACTIVE", position: null, ahead: null, eta_seconds: null, poll_after_seconds: 15, expires_at: "2026-12-01T10:10:00Z" } },
  ]);
  await poller.poll();
  assert.strictEqual(timers.at(-1).ms, 5000);
  await timers.at(-1).fn();
  assert.deepStrictEqual(seen.errors, [2]);
  assert.strictEqual(timers.at(-1).ms, 2000);
  await timers.at(-1).fn();
  assert.strictEqual(timers.at(-1).ms, 3000);
  assert.deepStrictEqual(seen.statuses, [[11, 0], [6, 50]]);
  const scheduled = timers.length;
  await timers.at(-1).fn();
  assert.strictEqual(seen.admitted, 1);
  assert.strictEqual(timers.length, scheduled, "no poll after admission");
  assert.deepStrictEqual(new Set(seen.headers), new Set(["tok"]));
});

test("an expired pass stops polling and offers to rejoin", async () => {
  const { poller, timers, seen } = harness([{ status: 410, body: {} }]);
  await poller.poll();
  assert.strictEqual(seen.expired, 1);
  assert.strictEqual(timers.length, 0);
});
