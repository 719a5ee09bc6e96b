// Alerts in words and back (src/rules.js): ISO 8601 durations, the rule summary, an alert's
// filters from an Activity view, the form's checks, 422 locations, and a firing's Activity view.
import { test } from "node:test";
import assert from "node:assert/strict";
import { emptyFilters, parseQuery } from "../src/filters.js";
import {
  alertBody, alertFilters, cooldownWords, defaultName, durationWords, fieldOfLoc, filtersWords, firingEventParams,
  firingQuery, formatDuration, groupWords, parseDuration, parseRecipients, previewRange, ruleSummary, splitTarget,
} from "../src/rules.js";

const MIN = 60 * 1000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

test("ISO 8601 durations as the API reads them: weeks, days, hours, minutes, whole seconds", () => {
  assert.equal(parseDuration("PT10M"), 10 * MIN);
  assert.equal(parseDuration("PT90S"), 90 * 1000);
  assert.equal(parseDuration("PT1H30M"), 90 * MIN);
  assert.equal(parseDuration("P1D"), DAY);
  assert.equal(parseDuration("PT24H"), DAY);
  assert.equal(parseDuration("P1W"), 7 * DAY);
  assert.equal(parseDuration("P1DT6H"), 30 * HOUR);
  assert.equal(parseDuration("PT0S"), 0);
  assert.equal(parseDuration(" pt10m "), 10 * MIN, "typed in lower case, with spaces");
  for (const bad of ["", "P", "PT", "P1DT", "10M", "PT1.5S", "P1M", "P1Y", "PT-1M", "PT10", "1 hour", null, undefined]) {
    assert.equal(parseDuration(bad), null, String(bad));
  }
});

test("durations in words", () => {
  assert.equal(formatDuration("PT10M"), "10 min");
  assert.equal(formatDuration("PT1H"), "1 h");
  assert.equal(formatDuration("PT60M"), "1 h");
  assert.equal(formatDuration("PT1H30M"), "1 h 30 min");
  assert.equal(formatDuration("PT90S"), "1 min 30 s");
  assert.equal(formatDuration("P1D"), "1 day");
  assert.equal(formatDuration("P7D"), "7 days");
  assert.equal(formatDuration("P1W"), "7 days");
  assert.equal(formatDuration("P2DT6H"), "2 days 6 h");
  assert.equal(formatDuration("PT0S"), "0 s");
  assert.equal(formatDuration("P1M"), "P1M", "not one: shown as it is");
  assert.equal(durationWords(45 * 1000), "45 s");
  assert.equal(durationWords(null), "");
});

test("the rule summary: ≥ count events in window per group", () => {
  const alert = { threshold: { count: 3, window: "PT10M" }, group_by: "actor", cooldown: "PT1H" };
  assert.equal(ruleSummary(alert), "≥ 3 events in 10 min per user");
  assert.equal(ruleSummary({ ...alert, group_by: "ip" }), "≥ 3 events in 10 min per IP address");
  assert.equal(ruleSummary({ ...alert, group_by: "target" }), "≥ 3 events in 10 min per resource");
  assert.equal(ruleSummary({ ...alert, group_by: null }), "≥ 3 events in 10 min");
  assert.equal(ruleSummary({ threshold: { count: 1, window: "P1D" }, group_by: null }), "≥ 1 event in 1 day");
  assert.equal(cooldownWords(alert), "at most once per 1 h per user");
  assert.equal(cooldownWords({ ...alert, cooldown: "PT0S" }), "no cooldown");
  assert.equal(cooldownWords({ ...alert, group_by: null, cooldown: "P7D" }), "at most once per 7 days");
});

test("an alert's filters from the view: every filter but the dates; a resource type alone is not one", () => {
  const view = parseQuery("actor_id=ada&action=user.login&action=user.*&target_type=asset&target_id=7&outcome=failure&q=x&range=7d");
  assert.deepEqual(alertFilters(view), {
    actions: ["user.login", "user.*"], actor_id: "ada", target_type: "asset", target_id: "7", outcome: "failure", q: "x",
  });
  assert.deepEqual(alertFilters(parseQuery("target_type=asset")), {
    actions: [], actor_id: null, target_type: null, target_id: null, outcome: null, q: null,
  });
  assert.equal(filtersWords(alertFilters(view)), "action user.login or user.*, user ada, resource asset 7, failure, matching “x”");
  assert.equal(filtersWords(alertFilters(emptyFilters())), "every event");
  assert.equal(defaultName(alertFilters(parseQuery("action=user.login&outcome=failure"))), "Action user.login, failure");
  assert.equal(defaultName(alertFilters(emptyFilters())), "Any activity");
  assert.equal(defaultName({ ...alertFilters(emptyFilters()), q: "x".repeat(300) }).length, 200);
});

test("the form's values become the body of POST /v1/alerts", () => {
  const filters = alertFilters(parseQuery("action=user.login"));
  const { body, errors } = alertBody({ name: " Logins ", count: "2", window: "pt10m", group_by: "actor", cooldown: "PT1H",
    recipients: "a@example.com, b@example.com;c@example.com", enabled: true }, filters);
  assert.deepEqual(errors, {});
  assert.deepEqual(body, {
    name: "Logins", filters, threshold: { count: 2, window: "PT10M" }, group_by: "actor", cooldown: "PT1H",
    recipients: ["a@example.com", "b@example.com", "c@example.com"], destination_ids: [], enabled: true,
  });
  const none = alertBody({ name: "x", count: "1", window: "PT1M", group_by: "", cooldown: "", recipients: "", enabled: false }, filters);
  assert.deepEqual(none.errors, {});
  assert.equal(none.body.group_by, null);
  assert.equal(none.body.cooldown, "PT1H", "the API's default");
  assert.equal(none.body.enabled, false);
  assert.equal(alertBody({ name: "x", count: "1", window: "PT1M", group_by: "everyone" }, filters).body.group_by, null);
});

test("the form's checks follow the API's bounds", () => {
  const ok = { name: "x", count: "3", window: "PT10M", group_by: "actor", cooldown: "PT1H", recipients: "" };
  const errorsOf = (change) => Object.keys(alertBody({ ...ok, ...change }, {}).errors);
  assert.deepEqual(errorsOf({}), []);
  assert.deepEqual(errorsOf({ name: "  " }), ["name"]);
  assert.deepEqual(errorsOf({ name: "n".repeat(201) }), ["name"]);
  for (const count of ["0", "1001", "2.5", "", "x", "-1"]) assert.deepEqual(errorsOf({ count }), ["count"], count);
  for (const count of ["1", "1000"]) assert.deepEqual(errorsOf({ count }), [], count);
  for (const window of ["PT59S", "P1DT1S", "P2D", "10 min", ""]) assert.deepEqual(errorsOf({ window }), ["window"], window);
  for (const window of ["PT1M", "PT60S", "P1D", "PT24H"]) assert.deepEqual(errorsOf({ window }), [], window);
  for (const cooldown of ["P8D", "P1W1D", "soon"]) assert.deepEqual(errorsOf({ cooldown }), ["cooldown"], cooldown);
  for (const cooldown of ["PT0S", "P7D", "P1W"]) assert.deepEqual(errorsOf({ cooldown }), [], cooldown);
  assert.deepEqual(errorsOf({ recipients: "a@example.com, nope" }), ["recipients"]);
  const many = Array.from({ length: 51 }, (_, i) => `u${i}@example.com`).join(",");
  assert.deepEqual(errorsOf({ recipients: many }), ["recipients"]);
  assert.match(alertBody({ ...ok, window: "P2D" }, {}).errors.window, /from 1 min to 1 day \(PT1M–P1D\)/);
  assert.deepEqual(parseRecipients(" a@x.io\n b@x.io ,, "), ["a@x.io", "b@x.io"]);
});

test("a 422 detail's loc names the form field", () => {
  assert.equal(fieldOfLoc(["body", "threshold", "window"]), "window");
  assert.equal(fieldOfLoc(["body", "threshold", "count"]), "count");
  assert.equal(fieldOfLoc(["body", "recipients", 3]), "recipients");
  assert.equal(fieldOfLoc(["body", "name"]), "name");
  assert.equal(fieldOfLoc(["body", "group_by"]), "group_by");
  assert.equal(fieldOfLoc(["body", "filters", "actions", 0]), "filters");
  assert.equal(fieldOfLoc(["body"]), null);
  assert.equal(fieldOfLoc(undefined), null);
});

test("a firing's group in words; a target group's type is percent-encoded", () => {
  assert.equal(groupWords("actor", "ada"), "user ada");
  assert.equal(groupWords("ip", "203.0.113.9"), "IP 203.0.113.9");
  assert.equal(groupWords("target", "asset:7"), "resource asset 7");
  assert.equal(groupWords(null, null), "");
  assert.deepEqual(splitTarget("a%3Ab:c"), { type: "a:b", id: "c" });
  assert.deepEqual(splitTarget("a:b:c"), { type: "a", id: "b:c" });
  assert.deepEqual(splitTarget("100%25:x"), { type: "100%", id: "x" });
  assert.deepEqual(splitTarget("%253A:x"), { type: "%3A", id: "x" }, "decoded once, not twice");
  assert.equal(splitTarget("nocolon"), null);
});

test("a firing's window as an Activity view: the alert's filters, the group, window_end included", () => {
  const alert = { group_by: "actor", filters: { actions: ["user.login"], actor_id: null, target_type: null, target_id: null,
    outcome: "failure", q: null } };
  const firing = { group: "ada", window_start: "2026-11-23T10:00:00.000Z", window_end: "2026-11-23T10:04:00.000Z" };
  const qs = firingQuery(alert, firing);
  assert.equal(qs, "actor_id=ada&action=user.login&outcome=failure&from=2026-11-23T10%3A00%3A00.000Z&to=2026-11-23T10%3A04%3A00.001Z");
  const view = parseQuery(qs);
  assert.equal(view.range, "custom");
  assert.equal(view.to, "2026-11-23T10:04:00.001Z", "To is exclusive: 1 ms after the newest event");
  assert.match(firingQuery(alert, firing, { event: "ev-1" }), /&event=ev-1$/);
  const byTarget = firingQuery({ ...alert, group_by: "target" }, { ...firing, group: "a%3Ab:c" });
  assert.deepEqual([parseQuery(byTarget).target_type, parseQuery(byTarget).target_id], ["a:b", "c"]);
  const byIp = parseQuery(firingQuery({ ...alert, group_by: "ip" }, { ...firing, group: "203.0.113.9" }));
  assert.equal(byIp.q, "203.0.113.9");
  const ipOverQ = parseQuery(firingQuery({ ...alert, group_by: "ip", filters: { ...alert.filters, q: "vpn" } }, { ...firing, group: "203.0.113.9" }));
  assert.equal(ipOverQ.q, "203.0.113.9", "the group's ip in place of the alert's q, as the email's link");
  const everyone = parseQuery(firingQuery({ ...alert, group_by: null }, { ...firing, group: null }));
  assert.equal(everyone.actor_id, "");
  assert.deepEqual(firingEventParams(alert, firing), [["actor_id", "ada"], ["action", "user.login"], ["outcome", "failure"],
    ["from", "2026-11-23T10:00:00.000Z"], ["to", "2026-11-23T10:04:00.001Z"]]);
});

test("a preview looks at the view's dates, else the last 7 days, at most 90 days, never the future", () => {
  const now = new Date("2026-11-23T12:00:00Z");
  assert.deepEqual(previewRange({ from: null, to: null }, now), { from: new Date("2026-11-16T12:00:00Z"), to: now });
  const from = new Date("2026-11-01T00:00:00Z");
  const to = new Date("2026-11-02T00:00:00Z");
  assert.deepEqual(previewRange({ from, to }, now), { from, to });
  assert.deepEqual(previewRange({ from: new Date("2025-01-01T00:00:00Z"), to: null }, now),
    { from: new Date(now.getTime() - 90 * DAY), to: now });
  assert.deepEqual(previewRange({ from, to: new Date("2027-01-01T00:00:00Z") }, now), { from, to: now });
});
