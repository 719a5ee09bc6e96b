// The Reports page's logic: its URL (the Activity filters plus `interval`), the report routes'
// parameters, and the Activity views a bar or a top entry leads to. Pure functions of their inputs
// (and of the process time zone for labels), tested by test/report.test.js.
import { apiParams, toQuery } from "./filters.js";

/** Series intervals: API value -> label. */
export const INTERVALS = { hour: "Hour", day: "Day", week: "Week" };
/** The top lists: group_by -> heading. */
export const GROUPS = {
  actor: "Top users",
  action: "Top actions",
  target: "Top resources",
};
export const TOP = 10;
export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
/** Retry waits are the API's, within reason (a broken answer must not spin or stall the page). */
const RETRY_MIN_S = 1;
const RETRY_MAX_S = 60;

export function parseInterval(search) {
  const p = search instanceof URLSearchParams ? search : new URLSearchParams(search);
  const value = p.get("interval") || "";
  return value in INTERVALS ? value : "day";
}

/** The Reports page's query string for filters and an interval (`day`, the default, is left out). */
export function reportQuery(filters, interval) {
  const p = new URLSearchParams("page=reports");
  for (const [k, v] of new URLSearchParams(toQuery(filters))) p.append(k, v);
  if (interval && interval !== "day") p.set("interval", interval);
  return `?${p.toString()}`;
}

/** GET /v1/reports/activity parameters ([name, value] pairs): the filters' (as GET /v1/events),
 * the interval, the browser's zone, and a group when asked. */
export function activityParams(filters, { interval, tz, groupBy = null }, now) {
  const out = [...apiParams(filters, now), ["interval", interval], ["tz", tz]];
  if (groupBy) out.push(["group_by", groupBy], ["top", String(TOP)]);
  return out;
}

/** GET /v1/reports/heatmap parameters. */
export function heatmapParams(filters, { tz }, now) {
  return [...apiParams(filters, now), ["tz", tz]];
}

/** The instants [from, to) of the series entry at `index` (the last one ends at the report's `to`). */
export function intervalRange(report, index) {
  const entry = report.series[index];
  const next = report.series[index + 1];
  return { from: entry.start, to: next ? next.start : report.to };
}

/** The Activity filters for one bar: the same filters, From/To that interval. */
export function intervalFilters(filters, report, index) {
  const { from, to } = intervalRange(report, index);
  return { ...filters, range: "custom", from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/** The Activity filters for a top entry: the same filters with that group's filter added (a
 * user, an action, a resource); null when the entry cannot be said as a filter. */
export function topFilters(filters, groupBy, entry) {
  switch (groupBy) {
    case "actor":
      return { ...filters, actor_id: entry.key };
    case "action":
      return { ...filters, actions: [entry.key] };
    case "target": {
      const t = entry.target;
      return t && t.type && t.id ? { ...filters, target_type: t.type, target_id: t.id } : null;
    }
    default:
      return null;
  }
}

/** How a top entry reads: the label (a name) when there is one, else the key. */
export function topLabel(groupBy, entry) {
  if (groupBy === "target" && entry.target) return `${entry.target.type}: ${entry.label || entry.target.id}`;
  return entry.label || entry.key;
}

/** A series entry's start in words, in the browser's time zone. */
export function intervalLabel(iso, interval, locale = undefined) {
  const d = new Date(iso);
  if (interval === "hour") {
    return new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }).format(d);
  }
  const day = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", year: "numeric" }).format(d);
  return interval === "week" ? `Week from ${day}` : day;
}

/** A heatmap cell's shade, 0 (none) to 5 (the busiest cell), so the colours stay few and their
 * contrast with the text is known. */
export function heatLevel(count, max) {
  if (!count || !max) return 0;
  return Math.min(5, Math.max(1, Math.ceil((5 * count) / max)));
}

/** How long to wait before asking again for an answer that said `complete: false`, in ms. */
export function retryDelay(answer) {
  const s = Number(answer && answer.retry_after_seconds);
  const seconds = Number.isFinite(s) ? Math.min(RETRY_MAX_S, Math.max(RETRY_MIN_S, s)) : 5;
  return seconds * 1000;
}
