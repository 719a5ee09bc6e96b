// How values are shown: times in the browser's time zone (the UTC instant on hover), sizes, JSON.

const LOCAL = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

export const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

export function localTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : LOCAL.format(d);
}

export function utcTitle(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${d.toISOString().replace("T", " ")} UTC`;
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** A JSON value as one line of text (strings as they are). */
export function value(v) {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** Who did it, in a few words. */
export function actorLabel(actor) {
  if (!actor) return "";
  return actor.name || actor.email || actor.id;
}

export function targetLabel(t) {
  if (!t) return "";
  return `${t.type}: ${t.name || t.id}`;
}
