// Alerts in words and back: ISO 8601 durations, the rule summary ("≥ 3 events in 10 min per user"),
// an alert's filters from the Activity page's view, the form's checks, and the Activity view of a
// firing's window. Pure functions, tested by test/rules.test.js.
import { toQuery } from "./filters.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// The API's syntax (weeks, days, hours, minutes, whole seconds; no years or months): a day is 24
// hours, as the evaluator counts it on the occurred_at axis.
const DURATION = /^P(?:(\d{1,4})W)?(?:(\d{1,4})D)?(?:T(?:(\d{1,5})H)?(?:(\d{1,6})M)?(?:(\d{1,8})S)?)?$/;

/** The length of an ISO 8601 duration (`PT10M`, `P1D`, `P1W`) in milliseconds, or null. */
export function parseDuration(value) {
  const text = String(value ?? "").trim().toUpperCase();
  const m = DURATION.exec(text);
  if (!m || text === "P" || text === "PT" || text.endsWith("T")) return null;
  const [w, d, h, mi, s] = m.slice(1).map((v) => Number(v || 0));
  return (w * 7 + d) * DAY + h * HOUR + mi * MINUTE + s * SECOND;
}

/** A length of time in short words: "10 min", "1 h 30 min", "1 day", "2 days 6 h", "45 s". */
export function durationWords(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "";
  if (ms === 0) return "0 s";
  const parts = [];
  let rest = ms;
  const days = Math.floor(rest / DAY);
  rest -= days * DAY;
  const hours = Math.floor(rest / HOUR);
  rest -= hours * HOUR;
  const minutes = Math.floor(rest / MINUTE);
  rest -= minutes * MINUTE;
  const seconds = Math.round(rest / SECOND);
  if (days) parts.push(`${days} ${days === 1 ? "day" : "days"}`);
  if (hours) parts.push(`${hours} h`);
  if (minutes) parts.push(`${minutes} min`);
  if (seconds) parts.push(`${seconds} s`);
  return parts.join(" ");
}

/** An ISO duration in words ("PT10M" -> "10 min"); the text itself when it is not one. */
export function formatDuration(iso) {
  const ms = parseDuration(iso);
  return ms === null ? String(iso ?? "") : durationWords(ms);
}

export const WINDOW_BOUNDS = ["PT1M", "P1D"];
export const COOLDOWN_BOUNDS = ["PT0S", "P7D"];
export const MAX_COUNT = 1000;
export const MAX_RECIPIENTS = 50;

/** group_by values and their words. */
export const GROUPS = [
  ["", "All matching events together", ""],
  ["actor", "User", "per user"],
  ["ip", "IP address", "per IP address"],
  ["target", "Resource (the first target)", "per resource"],
];

/** "≥ 3 events in 10 min per user". */
export function ruleSummary(alert) {
  const count = alert?.threshold?.count;
  const per = (GROUPS.find(([value]) => value === (alert?.group_by || "")) || GROUPS[0])[2];
  const events = `${count} ${count === 1 ? "event" : "events"}`;
  return `≥ ${events} in ${formatDuration(alert?.threshold?.window)}${per ? ` ${per}` : ""}`;
}

/** The cooldown in words: "no cooldown" or "at most once per 1 h" (per group when grouped). */
export function cooldownWords(alert) {
  const ms = parseDuration(alert?.cooldown ?? "PT1H");
  if (ms === 0) return "no cooldown";
  const per = (GROUPS.find(([value]) => value === (alert?.group_by || "")) || GROUPS[0])[2];
  return `at most once per ${ms === null ? alert.cooldown : durationWords(ms)}${per ? ` ${per}` : ""}`;
}

/** An alert's (or a view's) event filters in words: "action user.login, failure". */
export function filtersWords(f) {
  if (!f) return "every event";
  const parts = [];
  if (f.actions && f.actions.length) parts.push(`action ${f.actions.join(" or ")}`);
  if (f.actor_id) parts.push(`user ${f.actor_id}`);
  if (f.target_type && f.target_id) parts.push(`resource ${f.target_type} ${f.target_id}`);
  if (f.outcome) parts.push(f.outcome);
  if (f.q) parts.push(`matching “${f.q}”`);
  return parts.length ? parts.join(", ") : "every event";
}

/** The `filters` of POST /v1/alerts for an Activity view: the view's filters without its dates
 * (an alert watches events as they are accepted). A resource type alone does not filter. */
export function alertFilters(view) {
  const target = Boolean(view.target_type && view.target_id);
  return {
    actions: [...(view.actions || [])],
    actor_id: view.actor_id || null,
    target_type: target ? view.target_type : null,
    target_id: target ? view.target_id : null,
    outcome: view.outcome || null,
    q: view.q || null,
  };
}

/** A first name for an alert on these filters (at most 200 characters, the API's limit). */
export function defaultName(filters) {
  const words = filtersWords(filters);
  return (words === "every event" ? "Any activity" : words.charAt(0).toUpperCase() + words.slice(1)).slice(0, 200);
}

/** Recipients as typed: separated by commas, semicolons, spaces or new lines. */
export function parseRecipients(text) {
  return String(text || "").split(/[\s,;]+/).filter(Boolean);
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** The form's values (strings, as read from the inputs) checked the way the API does, and the body
 * of POST /v1/alerts: `{body, errors}` with errors by field name (empty when none). */
export function alertBody(values, filters) {
  const errors = {};
  const name = String(values.name || "").trim();
  if (!name) errors.name = "Give the alert a name.";
  else if (name.length > 200) errors.name = "At most 200 characters.";
  const countText = String(values.count ?? "").trim();
  const count = Number(countText);
  if (!/^\d+$/.test(countText) || count < 1 || count > MAX_COUNT) errors.count = `A whole number from 1 to ${MAX_COUNT}.`;
  const window = String(values.window || "").trim().toUpperCase();
  errors.window = durationProblem(window, WINDOW_BOUNDS, "the window");
  const cooldown = String(values.cooldown || "").trim().toUpperCase() || "PT1H";
  errors.cooldown = durationProblem(cooldown, COOLDOWN_BOUNDS, "the cooldown");
  const recipients = parseRecipients(values.recipients);
  const wrong = recipients.filter((r) => !EMAIL.test(r));
  if (wrong.length) errors.recipients = `Not an email address: ${wrong.join(", ")}.`;
  else if (recipients.length > MAX_RECIPIENTS) errors.recipients = `At most ${MAX_RECIPIENTS} addresses.`;
  for (const key of Object.keys(errors)) if (!errors[key]) delete errors[key];
  const groupBy = values.group_by || null;
  const body = {
    name,
    filters,
    threshold: { count, window },
    group_by: GROUPS.some(([v]) => v && v === groupBy) ? groupBy : null,
    cooldown,
    recipients,
    destination_ids: [...(values.destination_ids || [])],
    enabled: values.enabled !== false,
  };
  return { body, errors };
}

function durationProblem(value, [low, high], what) {
  const ms = parseDuration(value);
  if (ms === null) return `Write ${what} as an ISO 8601 duration, such as PT10M (10 minutes), PT1H or P1D.`;
  if (ms < parseDuration(low) || ms > parseDuration(high)) {
    return `${what.charAt(0).toUpperCase()}${what.slice(1)} must be from ${formatDuration(low)} to ${formatDuration(high)} (${low}–${high}).`;
  }
  return "";
}

const FIELDS = ["name", "count", "window", "group_by", "cooldown", "recipients", "destination_ids", "filters", "enabled"];

/** The form field a 422 detail's `loc` (["body", "threshold", "window"]) is about, or null. */
export function fieldOfLoc(loc) {
  const names = (loc || []).filter((part) => typeof part === "string");
  for (let i = names.length - 1; i >= 0; i -= 1) if (FIELDS.includes(names[i])) return names[i];
  return null;
}

/** A firing's group in words: "user ada", "IP 203.0.113.9", "resource asset 7", or "". */
export function groupWords(groupBy, group) {
  if (group === null || group === undefined) return "";
  if (groupBy === "actor") return `user ${group}`;
  if (groupBy === "ip") return `IP ${group}`;
  if (groupBy === "target") {
    const t = splitTarget(group);
    return t ? `resource ${t.type} ${t.id}` : `resource ${group}`;
  }
  return String(group);
}

/** A target group (`type:id`, `%` and `:` of the type percent-encoded) as {type, id}, or null. */
export function splitTarget(group) {
  const at = String(group).indexOf(":");
  if (at < 0) return null;
  const type = group.slice(0, at).replace(/%(25|3A)/gi, (m) => (m === "%25" ? "%" : ":"));
  return { type, id: group.slice(at + 1) };
}

/** The Activity view (a query string without "?") of a firing's window: the alert's filters, the
 * firing's group where the Activity filters can say it (the link of the firing's email is the same),
 * occurred_at from window_start to
 * window_end inclusive (the view's To is exclusive, so 1 ms later); `extra` adds parameters
 * (`{event: id}` opens that event's detail). */
export function firingQuery(alert, firing, extra = {}) {
  const f = alert?.filters || {};
  const view = {
    actor_id: f.actor_id || "",
    actions: [...(f.actions || [])],
    target_type: f.target_type && f.target_id ? f.target_type : "",
    target_id: f.target_type && f.target_id ? f.target_id : "",
    outcome: f.outcome || "",
    q: f.q || "",
    range: "custom",
    from: new Date(firing.window_start).toISOString(),
    to: new Date(new Date(firing.window_end).getTime() + 1).toISOString(),
  };
  if (firing.group !== null && firing.group !== undefined) {
    if (alert.group_by === "actor") view.actor_id = firing.group;
    if (alert.group_by === "target") {
      const t = splitTarget(firing.group);
      if (t) Object.assign(view, { target_type: t.type, target_id: t.id });
    }
    // An ip is narrowed by free text (the Activity filters have no ip), in place of the alert's own
    // q, as the firing's email links it.
    if (alert.group_by === "ip") view.q = firing.group;
  }
  const p = new URLSearchParams(toQuery(view));
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString();
}

/** The GET /v1/events parameters that list a firing's window (a superset of its events, which
 * are then picked by id): the same view as firingQuery, oldest first. */
export function firingEventParams(alert, firing) {
  const p = new URLSearchParams(firingQuery(alert, firing));
  const out = [];
  for (const key of ["actor_id", "action", "target_type", "target_id", "outcome", "q", "from", "to"]) {
    for (const v of p.getAll(key)) out.push([key, v]);
  }
  if (!p.get("target_id")) return out.filter(([k]) => k !== "target_type");
  return out;
}

/** The range a preview looks at: the view's dates, else the last 7 days; at most 90 days, the
 * API's limit (the newest part of a longer range). `range`: {from, to} Dates or nulls. */
export function previewRange(range, now) {
  const to = range.to && range.to < now ? range.to : now;
  let from = range.from || new Date(to.getTime() - 7 * DAY);
  if (to - from > 90 * DAY) from = new Date(to.getTime() - 90 * DAY);
  return { from, to };
}
