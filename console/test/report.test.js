// The Reports page's logic: its URL, the report routes' parameters, the Activity views a bar or a
// top entry opens, heatmap shades, and the wait before asking again for an incomplete answer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { emptyFilters, parseQuery } from "../src/filters.js";
import {
  activityParams, heatLevel, heatmapParams, intervalFilters, intervalLabel, parseInterval, reportQuery, retryDelay,
  topFilters, topLabel,
} from "../src/report.js";

const NOW = new Date("2026-12-03T12:00:00.000Z");

test("the Reports URL holds the Activity filters and the interval (day left out)", () => {
  const f = { ...emptyFilters(), actor_id: "ada", actions: ["asset.*", "user.login"], range: "7d" };
  const qs = reportQuery(f, "week");
  assert.equal(qs, "?page=reports&actor_id=ada&action=asset.*&action=user.login&range=7d&interval=week");
  const p = new URLSearchParams(qs);
  assert.equal(p.get("page"), "reports");
  assert.deepEqual(parseQuery(p), f);
  assert.equal(parseInterval(p), "week");
  assert.equal(reportQuery(emptyFilters(), "day"), "?page=reports");
  assert.equal(parseInterval(new URLSearchParams("interval=month")), "day");
  assert.equal(parseInterval(new URLSearchParams("")), "day");
});

test("report parameters are GET /v1/events' filters plus interval, tz, group and top", () => {
  const f = { ...emptyFilters(), actions: ["a.b", "c"], outcome: "failure", target_type: "asset", range: "7d" };
  const params = activityParams(f, { interval: "hour", tz: "Europe/Oslo", groupBy: "target" }, NOW);
  assert.deepEqual(params, [
    ["action", "a.b"], ["action", "c"], ["outcome", "failure"], ["from", "2026-11-26T12:00:00.000Z"],
    ["interval", "hour"], ["tz", "Europe/Oslo"], ["group_by", "target"], ["top", "10"],
  ]);
  // no group: no group_by, no top; the heatmap takes no interval
  assert.deepEqual(activityParams(emptyFilters(), { interval: "day", tz: "UTC" }, NOW), [["interval", "day"], ["tz", "UTC"]]);
  assert.deepEqual(heatmapParams({ ...emptyFilters(), q: "x" }, { interval: "day", tz: "UTC" }, NOW), [["q", "x"], ["tz", "UTC"]]);
});

test("a bar opens its interval: From its start, To the next start or the report's end", () => {
  const report = {
    from: "2026-11-30T10:00:00.000Z", to: "2026-12-02T10:00:00.000Z",
    series: [
      { start: "2026-11-30T10:00:00.000Z", count: 1 },
      { start: "2026-11-30T23:00:00.000Z", count: 2 },
      { start: "2026-12-01T23:00:00.000Z", count: 3 },
    ],
  };
  const f = { ...emptyFilters(), actor_id: "bob", range: "7d" };
  assert.deepEqual(intervalFilters(f, report, 0), { ...f, range: "custom", from: "2026-11-30T10:00:00.000Z", to: "2026-11-30T23:00:00.000Z" });
  assert.deepEqual(intervalFilters(f, report, 2), { ...f, range: "custom", from: "2026-12-01T23:00:00.000Z", to: "2026-12-02T10:00:00.000Z" });
});

test("a top entry adds its filter; a resource needs its type and id", () => {
  const f = { ...emptyFilters(), outcome: "failure", actions: ["user.login"] };
  assert.equal(topFilters(f, "actor", { key: "ada", count: 1 }).actor_id, "ada");
  assert.deepEqual(topFilters(f, "action", { key: "asset.downloaded", count: 1 }).actions, ["asset.downloaded"]);
  const t = topFilters(f, "target", { key: "asset:7", label: "Q3", count: 2, target: { type: "asset", id: "7" } });
  assert.equal(t.target_type, "asset");
  assert.equal(t.target_id, "7");
  assert.equal(t.outcome, "failure");
  assert.equal(topFilters(f, "target", { key: "asset:7", count: 2 }), null);
  assert.equal(topFilters(f, "ip", { key: "203.0.113.9", count: 2 }), null);
  assert.equal(topLabel("target", { key: "asset:7", label: null, target: { type: "asset", id: "7" } }), "asset: 7");
  assert.equal(topLabel("actor", { key: "ada", label: "Ada Lovelace" }), "Ada Lovelace");
  assert.equal(topLabel("actor", { key: "ada", label: null }), "ada");
});

test("interval labels are in the browser's time zone", () => {
  const before = process.env.TZ;
  process.env.TZ = "Asia/Kolkata";
  try {
    assert.match(intervalLabel("2026-12-02T18:30:00.000Z", "day", "en-GB"), /Thu,? 3 Dec 2026/);
    assert.match(intervalLabel("2026-11-29T18:30:00.000Z", "week", "en-GB"), /^Week from Mon,? 30 Nov 2026$/);
    assert.match(intervalLabel("2026-12-02T18:30:00.000Z", "hour", "en-GB"), /3 Dec,? 00:00/);
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
});

test("heatmap shades: none for 0, 5 for the busiest, 1 for the least busy", () => {
  assert.equal(heatLevel(0, 10), 0);
  assert.equal(heatLevel(1, 100), 1);
  assert.equal(heatLevel(10, 10), 5);
  assert.equal(heatLevel(5, 10), 3);
  assert.equal(heatLevel(3, 0), 0);
});

test("an incomplete answer is asked again after retry_after_seconds, within 1 to 60 s", () => {
  assert.equal(retryDelay({ complete: false, retry_after_seconds: 5 }), 5000);
  assert.equal(retryDelay({ complete: false, retry_after_seconds: 0 }), 1000);
  assert.equal(retryDelay({ complete: false, retry_after_seconds: 3600 }), 60000);
  assert.equal(retryDelay({ complete: false }), 5000);
});
