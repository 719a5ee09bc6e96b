// The console's own logic: filters <-> URL, presets in the browser's time zone (DST included),
// custom From/To inputs, the API and export parameters. Time zones are set per test (process.env.TZ
// takes effect at once in Node) and clocks are fixed instants.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  apiParams, emptyFilters, exportFilters, fromLocalInput, groupActions, parseQuery, presetRange, problem,
  toLocalInput, toQuery,
} from "../src/filters.js";

const inZone = (tz, fn) => {
  const before = process.env.TZ;
  process.env.TZ = tz;
  try { return fn(); } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
};
const HOUR = 3600 * 1000;

test("every filter survives the URL round trip", () => {
  const f = {
    ...emptyFilters(), actor_id: "user 42/ü", actions: ["asset.*", "user.login"], target_type: "asset",
    target_id: "7&x=1", outcome: "failure", q: "Q3 report #1", range: "custom",
    from: "2026-11-16T00:00:00.000Z", to: "2026-11-23T00:00:00.000Z",
  };
  const qs = toQuery(f);
  assert.deepEqual(parseQuery(`?${qs}`), f);
  assert.equal(toQuery(parseQuery(qs)), qs);
  assert.match(qs, /action=asset\.\*&action=user\.login/);
});

test("a preset is kept by name, so a bookmark stays relative", () => {
  for (const range of ["today", "7d", "30d", "90d"]) {
    const f = parseQuery(toQuery({ ...emptyFilters(), range }));
    assert.equal(f.range, range);
    assert.equal(toQuery(f), `range=${range}`);
  }
});

test("nothing chosen means no parameter: every visible event", () => {
  assert.equal(toQuery(emptyFilters()), "");
  assert.deepEqual(apiParams(parseQuery(""), new Date()), []);
});

test("bad values in a URL are dropped, not sent", () => {
  const f = parseQuery("outcome=maybe&target_id=7&from=yesterday&range=week");
  assert.equal(f.outcome, "");
  assert.equal(f.target_id, "", "target_id needs target_type");
  assert.equal(f.range, "");
  assert.equal(f.from, "");
});

test("an offset time in the URL is read as the same instant", () => {
  const f = parseQuery("from=2026-11-20T08:00:00%2B01:00");
  assert.equal(f.from, "2026-11-20T07:00:00.000Z");
  assert.equal(f.range, "custom");
});

test("Today starts at the browser's local midnight", () => {
  inZone("Europe/Oslo", () => {
    const now = new Date("2026-11-23T10:30:00Z"); // 11:30 in Oslo (UTC+1)
    assert.equal(presetRange("today", now).from.toISOString(), "2026-11-22T23:00:00.000Z");
  });
  inZone("America/Los_Angeles", () => {
    const now = new Date("2026-11-23T03:00:00Z"); // 19:00 on the 22nd in Los Angeles
    assert.equal(presetRange("today", now).from.toISOString(), "2026-11-22T08:00:00.000Z");
  });
});

test("Today on the day DST starts and ends (Europe/Oslo): midnight is 23 or 25 hours from the next", () => {
  inZone("Europe/Oslo", () => {
    // 2026-03-29: clocks go from 02:00 to 03:00; at 12:00 local (10:00Z) only 11 hours have passed
    const spring = new Date("2026-03-29T10:00:00Z");
    const from = presetRange("today", spring).from;
    assert.equal(from.toISOString(), "2026-03-28T23:00:00.000Z");
    assert.equal((spring - from) / HOUR, 11);
    // 2026-10-25: clocks go from 03:00 back to 02:00; at 12:00 local (11:00Z) 13 hours have passed
    const autumn = new Date("2026-10-25T11:00:00Z");
    assert.equal(presetRange("today", autumn).from.toISOString(), "2026-10-24T22:00:00.000Z");
    assert.equal((autumn - presetRange("today", autumn).from) / HOUR, 13);
  });
});

test("Today where midnight itself is skipped (America/Santiago, 2026-09-06): the day's first instant", () => {
  inZone("America/Santiago", () => {
    // Chile moves from 00:00 (UTC-4) to 01:00 (UTC-3): the day starts at 01:00 local = 04:00Z
    const now = new Date("2026-09-06T15:00:00Z");
    assert.equal(presetRange("today", now).from.toISOString(), "2026-09-06T04:00:00.000Z");
  });
});

test("Last N days is N x 24 hours before now, also across a DST change", () => {
  inZone("Europe/Oslo", () => {
    const now = new Date("2026-03-30T12:00:00Z");
    for (const [range, days] of [["7d", 7], ["30d", 30], ["90d", 90]]) {
      const { from, to } = presetRange(range, now);
      assert.equal((now - from) / HOUR, days * 24);
      assert.equal(to, null);
    }
    assert.deepEqual(apiParams(parseQuery("range=7d"), now), [["from", "2026-03-23T12:00:00.000Z"]]);
  });
});

test("From/To inputs are read in the browser's time zone, and shown back the same", () => {
  inZone("Europe/Oslo", () => {
    assert.equal(fromLocalInput("2026-11-20T08:00"), "2026-11-20T07:00:00.000Z");
    assert.equal(fromLocalInput("2026-07-20T08:00"), "2026-07-20T06:00:00.000Z");
    assert.equal(toLocalInput("2026-07-20T06:00:00.000Z"), "2026-07-20T08:00");
    // a time the spring change skips (02:30 does not exist) is read as the instant an hour later
    assert.equal(fromLocalInput("2026-03-29T02:30"), "2026-03-29T01:30:00.000Z");
    // the repeated hour of the autumn change is read as its first occurrence (summer time)
    assert.equal(fromLocalInput("2026-10-25T02:30"), "2026-10-25T00:30:00.000Z");
  });
  inZone("Asia/Kolkata", () => {
    assert.equal(fromLocalInput("2026-11-20T08:00"), "2026-11-20T02:30:00.000Z");
  });
  assert.equal(fromLocalInput("not a time"), "");
});

test("a range that ends before it starts is reported, not sent", () => {
  const f = { ...emptyFilters(), range: "custom", from: "2026-11-23T00:00:00.000Z", to: "2026-11-22T00:00:00.000Z" };
  assert.equal(problem(f, new Date()), "From must be before To.");
  assert.equal(problem({ ...f, to: "2026-11-24T00:00:00.000Z" }, new Date()), "");
});

test("the API and export parameters of a view", () => {
  const now = new Date("2026-11-23T10:00:00Z");
  const f = parseQuery("actor_id=ada&action=asset.*&target_type=asset&target_id=7&outcome=success&q=q3&range=30d");
  assert.deepEqual(apiParams(f, now), [
    ["actor_id", "ada"], ["action", "asset.*"], ["target_type", "asset"], ["target_id", "7"],
    ["outcome", "success"], ["q", "q3"], ["from", "2026-10-24T10:00:00.000Z"],
  ]);
  assert.deepEqual(exportFilters(f, now), {
    actions: ["asset.*"], actor_id: "ada", target_type: "asset", target_id: "7", outcome: "success", q: "q3",
    from: "2026-10-24T10:00:00.000Z", to: null,
  });
  assert.deepEqual(exportFilters(emptyFilters(), now), {
    actions: [], actor_id: null, target_type: null, target_id: null, outcome: null, q: null, from: null, to: null,
  });
});

test("a resource type alone is kept in the URL but not sent: the API takes type and id together", () => {
  const f = parseQuery("target_type=asset");
  assert.equal(toQuery(f), "target_type=asset");
  assert.deepEqual(apiParams(f, new Date()), []);
  assert.equal(exportFilters(f, new Date()).target_type, null);
});

test("actions are grouped by prefix, with prefix.* selectable", () => {
  assert.deepEqual(groupActions(["user.login", "asset.downloaded", "search", "asset.updated", "user.logout"]), [
    { prefix: "asset", wildcard: "asset.*", actions: ["asset.downloaded", "asset.updated"] },
    { prefix: "search", wildcard: null, actions: ["search"] },
    { prefix: "user", wildcard: "user.*", actions: ["user.login", "user.logout"] },
  ]);
});
