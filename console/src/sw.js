// The console's service worker: only for downloads. A run's file is behind the API's
// `GET .../download` (a bearer credential, then a 302 to a presigned URL of the exports bucket).
// A page cannot put a bearer header on a link, and cannot `fetch` the bucket (another origin,
// refused by `default-src 'self'`). So the page hands this worker one download (the API path and
// the credential, by message, once), then navigates to `download?id=...`: the worker asks the API
// with the credential and answers the navigation with the API's redirect, which the browser
// follows as a download. Nothing else is intercepted; nothing is cached.
const pending = new Map();

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const { id, path, credential } = event.data || {};
  if (typeof id !== "string" || typeof path !== "string" || typeof credential !== "string") return;
  if (!path.startsWith("/v1/exports/") || !path.endsWith("/download")) return;
  pending.set(id, { path, credential });
  setTimeout(() => pending.delete(id), 60_000);
  event.ports[0]?.postMessage("ready");
});

const page = (status, text) =>
  new Response(`<!doctype html><meta charset="utf-8"><title>Download</title><p>${text}</p>`, {
    status, headers: { "Content-Type": "text/html; charset=utf-8" },
  });

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || url.pathname !== new URL("download", self.registration.scope).pathname) return;
  const job = pending.get(url.searchParams.get("id"));
  pending.delete(url.searchParams.get("id"));
  if (!job) {
    event.respondWith(page(410, "This download was started already: start it again from the console."));
    return;
  }
  event.respondWith(
    fetch(new URL(job.path, self.location.origin), {
      headers: { Authorization: `Bearer ${job.credential}` }, redirect: "manual", credentials: "omit", cache: "no-store",
    }).then(
      (answer) => (answer.type === "opaqueredirect" ? answer : page(answer.status, `The API answered ${answer.status}.`)),
      () => page(502, "The API could not be reached."),
    ),
  );
});
