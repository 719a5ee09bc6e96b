// The public API, with the signed-in credential as a bearer token. Errors carry the API's message.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
  }
}

export class Api {
  /** base: the API's origin ("" = this origin); credential: an API key or a vt_ viewer token. */
  constructor(base, credential, { onUnauthorized } = {}) {
    this.base = (base || "").replace(/\/+$/, "");
    this.credential = credential;
    this.onUnauthorized = onUnauthorized || (() => {});
  }

  url(path, params) {
    const qs = params ? new URLSearchParams(params).toString() : "";
    return `${this.base}${path}${qs ? `?${qs}` : ""}`;
  }

  async request(method, path, { params, body, quiet401 = false } = {}) {
    const headers = { Authorization: `Bearer ${this.credential}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.url(path, params), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, "network_error", `The API could not be reached (${err.message}).`);
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const e = (data && data.error) || {};
      const err = new ApiError(response.status, e.code || `http_${response.status}`,
        e.message || `The API answered ${response.status}.`, e.details);
      if (response.status === 401 && !quiet401) this.onUnauthorized(err);
      throw err;
    }
    return data;
  }

  /** The first page of the feed, asked for while the scopes are probed (see app.js). */
  prefetch(key, params) {
    this.prefetched = { key, promise: this.get("/v1/events", params, { quiet401: true }) };
    return this.prefetched.promise;
  }

  takePrefetched() {
    const { promise } = this.prefetched;
    this.prefetched = null;
    return promise;
  }

  get(path, params, opts) { return this.request("GET", path, { params, ...opts }); }
  post(path, body) { return this.request("POST", path, { body }); }
  put(path, body) { return this.request("PUT", path, { body }); }
  del(path) { return this.request("DELETE", path); }

  /** GET /v1/events/count, adding up partial counts (at most `rounds` calls). */
  async count(params, rounds = 20) {
    let total = 0;
    let cursor = null;
    for (let i = 0; i < rounds; i += 1) {
      const page = await this.get("/v1/events/count", cursor ? [...params, ["cursor", cursor]] : params);
      total += page.count;
      if (page.complete !== false || !page.next_cursor) return { count: total, complete: true };
      cursor = page.next_cursor;
    }
    return { count: total, complete: false };
  }

  /** A run's file, saved by the browser: see sw.js (the service worker answers the navigation
   * with the API's redirect to the presigned URL). */
  async download(url) {
    if (!("serviceWorker" in navigator)) {
      throw new ApiError(0, "download_failed", "This browser cannot download from the console (no service workers): use the link in the export's email.");
    }
    const registration = await navigator.serviceWorker.register("sw.js");
    await navigator.serviceWorker.ready;
    const worker = registration.active || navigator.serviceWorker.controller;
    const target = new URL(url, location.origin);
    const id = crypto.randomUUID();
    await new Promise((resolve, reject) => {
      const channel = new MessageChannel();
      const timer = setTimeout(() => reject(new ApiError(0, "download_failed", "The download could not be prepared.")), 5000);
      channel.port1.onmessage = () => { clearTimeout(timer); resolve(); };
      worker.postMessage({ id, path: target.pathname, credential: this.credential }, [channel.port2]);
    });
    window.location.assign(new URL(`download?id=${encodeURIComponent(id)}`, registration.scope).href);
  }
}
