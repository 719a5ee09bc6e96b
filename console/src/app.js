// The console: sign-in, the navigation the credential's scopes allow, and the pages. The view is
// the URL: `?page=` (activity by default), the activity filters, `event=` for an open event.
import { html, nothing } from "lit";
import { LightElement } from "./base.js";
import { Api } from "./api.js";
import { apiParams, parseQuery, problem, toQuery } from "./filters.js";
import { PAGE_SIZE } from "./feed.js";
import { parseInterval, reportQuery } from "./report.js";
import { capabilities, forgetCredential, storeCredential, storedCredential, tokenFromHash } from "./session.js";
import "./activity.js";
import "./reports.js";
import "./exports.js";
import "./alerts.js";
import "./settings.js";
import "./keys.js";

/** Pages, their link names and who may see them, in the navigation's order. (Destinations: added
 * with its page.) Activity and Reports are two views of the same filters: their links keep them. */
const PAGES = [
  { id: "activity", label: "Activity", allowed: (c) => c.events, keepsFilters: true },
  { id: "reports", label: "Reports", allowed: (c) => c.events, keepsFilters: true },
  { id: "exports", label: "Exports", allowed: (c) => c.exports },
  { id: "alerts", label: "Alerts", allowed: (c) => c.alerts },
  { id: "settings", label: "Settings", allowed: (c) => c.logging },
  { id: "keys", label: "API keys", allowed: (c) => c.keys },
];

export class AlApp extends LightElement {
  static properties = {
    status: { state: true }, // "signed-out" | "checking" | "ready"
    caps: { state: true },
    message: { state: true },
    route: { state: true },
  };

  constructor() {
    super();
    this.route = this.readRoute();
    this.message = "";
    const token = tokenFromHash();
    if (token) storeCredential(token);
    const credential = token || storedCredential();
    if (credential) this.signIn(credential);
    else this.status = "signed-out";
    window.addEventListener("popstate", () => { this.route = this.readRoute(); });
    window.addEventListener("hashchange", () => {
      const next = tokenFromHash();
      if (next) this.signIn(next);
    });
  }

  readRoute() {
    const p = new URLSearchParams(window.location.search);
    return {
      page: p.get("page") || "activity",
      filters: parseQuery(p),
      eventId: p.get("event") || null,
      exportId: p.get("export") || null,
      alertId: p.get("alert") || null,
      interval: parseInterval(p),
    };
  }

  nav = (qs) => {
    const target = `${window.location.pathname}${qs && qs !== "?" ? qs : ""}`;
    if (target !== window.location.pathname + window.location.search) window.history.pushState({}, "", target);
    const before = this.route.page;
    this.route = this.readRoute();
    if (this.route.page !== before) {
      this.updateComplete.then(() => this.querySelector("main h1")?.focus());
    }
  };

  async signIn(credential) {
    this.status = "checking";
    const api = new Api("", credential, { onUnauthorized: () => this.expired() });
    // The activity page's first page of events doubles as the events:read probe.
    const { page, filters } = this.route;
    const feed = page === "activity" && !problem(filters, new Date())
      ? api.prefetch(toQuery(filters), [...apiParams(filters, new Date()), ["limit", String(PAGE_SIZE)]])
      : null;
    feed?.catch(() => {});
    try {
      this.caps = await capabilities(api, feed);
      this.api = api;
      storeCredential(credential);
      this.message = "";
      this.status = "ready";
    } catch (err) {
      forgetCredential();
      this.status = "signed-out";
      this.message = err.status === 401
        ? `This credential was not accepted: ${err.message} Check that you pasted the whole API key (or that the viewer token has not expired).`
        : `Signing in failed: ${err.message}`;
    }
  }

  expired() {
    forgetCredential();
    this.api = null;
    this.status = "signed-out";
    this.message = "The credential is no longer accepted (it expired or was revoked): sign in again.";
  }

  signOut() {
    forgetCredential();
    this.api = null;
    this.caps = null;
    this.status = "signed-out";
    this.message = "Signed out.";
  }

  follow(e) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    this.nav(new URL(e.currentTarget.href).search);
  }

  /** A navigation link: Activity and Reports keep the view's filters when one leads to the other
   * (the link to the page one is on starts it afresh, as before). */
  linkTo(target, current) {
    const keep = target !== current && target.keepsFilters && current?.keepsFilters;
    const { filters, interval } = this.route;
    if (target.id === "reports") return keep ? reportQuery(filters, interval) : "?page=reports";
    if (target.id === "activity") {
      const qs = keep ? toQuery(filters) : "";
      return qs ? `?${qs}` : "?";
    }
    return `?page=${target.id}`;
  }

  renderSignIn() {
    const submit = (e) => {
      e.preventDefault();
      const value = new FormData(e.target).get("key").trim();
      if (value) this.signIn(value);
      else this.message = "Paste an API key first.";
    };
    return html`<main id="main" class="sign-in">
      <h1 tabindex="-1">Activity Log</h1>
      <form @submit=${submit} aria-labelledby="sign-in-heading">
        <h2 id="sign-in-heading">Sign in</h2>
        <p>Paste an API key. It stays in this browser tab only (session storage) and is sent only to the API.</p>
        <div class="field"><label for="api-key">API key</label>
          <input id="api-key" name="key" type="password" autocomplete="off" spellcheck="false" required
            ?disabled=${this.status === "checking"}></div>
        ${this.message ? html`<p class=${this.message === "Signed out." ? "message" : "error"} role="alert">${this.message}</p>` : nothing}
        <button type="submit" class="primary" ?disabled=${this.status === "checking"}>Sign in</button>
        ${this.status === "checking" ? html`<p role="status" class="muted">Checking the key…</p>` : nothing}
      </form>
    </main>`;
  }

  renderPage(page) {
    const { filters, eventId, exportId, alertId, interval } = this.route;
    switch (page.id) {
      case "activity":
        return html`<al-activity .api=${this.api} .caps=${this.caps} .filters=${filters} .eventId=${eventId} .nav=${this.nav}></al-activity>`;
      case "reports":
        return html`<al-reports .api=${this.api} .caps=${this.caps} .filters=${filters} .interval=${interval} .nav=${this.nav}></al-reports>`;
      case "exports":
        return html`<al-exports .api=${this.api} .highlight=${exportId}></al-exports>`;
      case "alerts":
        return html`<al-alerts .api=${this.api} .caps=${this.caps} .selected=${alertId} .nav=${this.nav}></al-alerts>`;
      case "settings":
        return html`<al-settings .api=${this.api}></al-settings>`;
      case "keys":
        return html`<al-keys .api=${this.api} .caps=${this.caps}></al-keys>`;
      default:
        return nothing;
    }
  }

  render() {
    if (this.status !== "ready") {
      return this.status === "checking" && !this.message && storedCredential()
        ? html`<main id="main"><p role="status" class="muted">Signing in…</p></main>`
        : this.renderSignIn();
    }
    const visible = PAGES.filter((p) => p.allowed(this.caps));
    const page = PAGES.find((p) => p.id === this.route.page);
    return html`
      <a class="skip" href="#main" @click=${(e) => { e.preventDefault(); this.querySelector("#main")?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand">Activity Log</span>
        <nav aria-label="Console">
          <ul>${visible.map((p) => html`<li><a href=${this.linkTo(p, page)}
            aria-current=${p === page ? "page" : nothing} @click=${(e) => this.follow(e)}>${p.label}</a></li>`)}</ul>
        </nav>
        <span class="who">${this.caps.viewerToken ? "Viewer token" : "API key"}${this.caps.actorId ? html` · <span title="actor">${this.caps.actorId}</span>` : nothing}</span>
        <button type="button" @click=${() => this.signOut()}>Sign out</button>
      </header>
      <main id="main" tabindex="-1">
        ${page && page.allowed(this.caps)
          ? this.renderPage(page)
          : html`<h1 tabindex="-1">Not available</h1><p>This credential cannot use this page.${visible.length
            ? html` Go to <a href=${visible[0].id === "activity" ? "?" : `?page=${visible[0].id}`} @click=${(e) => this.follow(e)}>${visible[0].label}</a>.` : nothing}</p>`}
      </main>`;
  }
}
customElements.define("al-app", AlApp);
