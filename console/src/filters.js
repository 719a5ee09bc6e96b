// The activity filters: one plain object, its URL query string (so a view can be bookmarked and
// shared), and the API parameters it means. Pure functions of their inputs (and of `now` and the
// process time zone), tested by test/filters.test.js.

/** Preset ranges: URL value -> [label, length in days (null: from local midnight)]. */
export const PRESETS = {
  today: ["Today", null],
  "7d": ["Last 7 days", 7],
  "30d": ["Last 30 days", 30],
  "90d": ["Last 90 days", 90],
};
const DAY_MS = 24 * 60 * 60 * 1000;
const OUTCOMES = new Set(["success", "failure"]);

/** The empty filter: every visible event. */
export function emptyFilters() {
  return {
    actor_id: "",
    actions: [],
    target_type: "",
    target_id: "",
    outcome: "",
    q: "",
    range: "", // "" | a PRESETS key | "custom"
    from: "", // custom range: instants as ISO strings in UTC
    to: "",
  };
}

/** Filters from a query string ("?a=b" or "a=b" or URLSearchParams). Unknown values are dropped. */
export function parseQuery(search) {
  const p = search instanceof URLSearchParams ? search : new URLSearchParams(search);
  const f = emptyFilters();
  f.actor_id = p.get("actor_id") || "";
  f.actions = p.getAll("action").filter(Boolean);
  f.target_type = p.get("target_type") || "";
  f.target_id = f.target_type ? p.get("target_id") || "" : "";
  const outcome = p.get("outcome") || "";
  f.outcome = OUTCOMES.has(outcome) ? outcome : "";
  f.q = p.get("q") || "";
  const range = p.get("range") || "";
  if (range in PRESETS) {
    f.range = range;
  } else {
    f.from = isoOrEmpty(p.get("from"));
    f.to = isoOrEmpty(p.get("to"));
    f.range = f.from || f.to ? "custom" : "";
  }
  return f;
}

function isoOrEmpty(value) {
  if (!value) return "";
  const t = Date.parse(value);
  return Number.isNaN(t) ? "" : new Date(t).toISOString();
}

/** The query string of filters, in a stable order, without empty values ("" when none). */
export function toQuery(f) {
  const p = new URLSearchParams();
  if (f.actor_id) p.set("actor_id", f.actor_id);
  for (const a of f.actions || []) p.append("action", a);
  if (f.target_type) p.set("target_type", f.target_type);
  if (f.target_type && f.target_id) p.set("target_id", f.target_id);
  if (f.outcome) p.set("outcome", f.outcome);
  if (f.q) p.set("q", f.q);
  if (f.range in PRESETS) p.set("range", f.range);
  else if (f.range === "custom") {
    if (f.from) p.set("from", f.from);
    if (f.to) p.set("to", f.to);
  }
  return p.toString();
}

/** The instants a preset means at `now` (a Date): `to` is open (null). `Today` starts at the
 * browser's local midnight (the first instant of the local day, also on a DST day); `Last N days`
 * is the N x 24 hours before now. */
export function presetRange(preset, now) {
  const [, days] = PRESETS[preset];
  if (days === null) {
    return { from: new Date(now.getFullYear(), now.getMonth(), now.getDate()), to: null };
  }
  return { from: new Date(now.getTime() - days * DAY_MS), to: null };
}

/** The [from, to) instants of the filters at `now` (either may be null). */
export function timeRange(f, now) {
  if (f.range in PRESETS) return presetRange(f.range, now);
  if (f.range === "custom") {
    return { from: f.from ? new Date(f.from) : null, to: f.to ? new Date(f.to) : null };
  }
  return { from: null, to: null };
}

/** A problem with the filters that the API would refuse, in words, or "" . */
export function problem(f, now) {
  const { from, to } = timeRange(f, now);
  if (from && to && from >= to) return "From must be before To.";
  return "";
}

/** GET /v1/events (and /count) parameters as [name, value] pairs. */
export function apiParams(f, now) {
  const out = [];
  if (f.actor_id) out.push(["actor_id", f.actor_id]);
  for (const a of f.actions || []) out.push(["action", a]);
  // The API takes a resource as type and id together: a type alone only narrows the Resource picker.
  if (f.target_type && f.target_id) out.push(["target_type", f.target_type], ["target_id", f.target_id]);
  if (f.outcome) out.push(["outcome", f.outcome]);
  if (f.q) out.push(["q", f.q]);
  const { from, to } = timeRange(f, now);
  if (from) out.push(["from", from.toISOString()]);
  if (to) out.push(["to", to.toISOString()]);
  return out;
}

/** The `filters` object of POST /v1/exports for the same view (presets fixed at `now`). */
export function exportFilters(f, now) {
  const { from, to } = timeRange(f, now);
  return {
    actions: [...(f.actions || [])],
    actor_id: f.actor_id || null,
    target_type: (f.target_type && f.target_id && f.target_type) || null,
    target_id: (f.target_type && f.target_id) || null,
    outcome: f.outcome || null,
    q: f.q || null,
    from: from ? from.toISOString() : null,
    to: to ? to.toISOString() : null,
  };
}

/** The value of a datetime-local input (browser time zone) for an ISO instant, "" for none. */
export function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The ISO instant (UTC) of a datetime-local input's value read in the browser time zone. */
export function fromLocalInput(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value || "");
  if (!m) return "";
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const date = new Date(y, mo - 1, d, h, mi, s || 0);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

/** Actions grouped by their first segment: [[prefix, [action, ...]], ...] in byte order; a group
 * offers `prefix.*` when it has more than one action or its action has a dot. */
export function groupActions(actions) {
  const groups = new Map();
  for (const a of [...actions].sort()) {
    const prefix = a.includes(".") ? a.slice(0, a.indexOf(".")) : a;
    if (!groups.has(prefix)) groups.set(prefix, []);
    groups.get(prefix).push(a);
  }
  return [...groups.entries()].map(([prefix, list]) => ({
    prefix,
    wildcard: list.some((a) => a.includes(".")) ? `${prefix}.*` : null,
    actions: list,
  }));
}
