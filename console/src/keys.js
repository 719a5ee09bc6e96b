// API keys (keys:manage): list, create (the key shown once), revoke.
import { html, nothing } from "lit";
import { LightElement } from "./base.js";
import { localTime, utcTitle } from "./format.js";

export const SCOPES = ["events:write", "events:read", "events:read:self", "exports:manage", "logging:manage",
  "keys:manage", "tokens:create", "alerts:manage", "streams:manage"];
const time = (iso) => (iso ? html`<time datetime=${iso} title=${utcTitle(iso)}>${localTime(iso)}</time>` : "never");

export class AlKeys extends LightElement {
  static properties = {
    api: { attribute: false },
    caps: { attribute: false },
    keys: { state: true },
    nextCursor: { state: true },
    created: { state: true },
    error: { state: true },
    message: { state: true },
  };

  constructor() {
    super();
    this.keys = null;
    this.nextCursor = null;
  }

  connectedCallback() {
    super.connectedCallback();
    this.load();
  }

  async load(cursor = null) {
    try {
      const page = await this.api.get("/v1/api-keys", { limit: 100, ...(cursor ? { cursor } : {}) });
      this.keys = cursor ? [...this.keys, ...page.api_keys] : page.api_keys;
      this.nextCursor = page.next_cursor;
    } catch (err) {
      this.error = err.message;
    }
  }

  async create(e) {
    e.preventDefault();
    const data = new FormData(e.target);
    const body = { name: String(data.get("name")).trim(), scopes: data.getAll("scopes"),
      actor_id: String(data.get("actor_id") || "").trim() || null };
    this.error = "";
    this.message = "";
    try {
      this.created = await this.api.post("/v1/api-keys", body);
      e.target.reset();
      await this.load();
    } catch (err) {
      this.error = err.message;
    }
  }

  async revoke(k) {
    this.error = "";
    try {
      await this.api.del(`/v1/api-keys/${encodeURIComponent(k.id)}`);
      this.message = `Key “${k.name}” revoked (it stops working within the authorizer's cache time).`;
      this.keys = this.keys.filter((x) => x.id !== k.id);
    } catch (err) {
      this.error = err.message;
    }
  }

  render() {
    const own = this.caps.scopes;
    const offered = own ? SCOPES.filter((s) => own.includes(s)) : SCOPES;
    return html`<div class="page-head"><h1>API keys</h1></div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <p role="status" class="message">${this.message || ""}</p>
      ${this.created ? html`<section class="new-key" aria-labelledby="new-key-heading">
        <h2 id="new-key-heading">New key “${this.created.name}”</h2>
        <p>Copy it now: it is shown only this once.</p>
        <p><code class="secret" id="new-key-value">${this.created.key}</code>
          <button type="button" @click=${() => navigator.clipboard?.writeText(this.created.key)}>Copy key</button>
          <button type="button" @click=${() => { this.created = null; }}>Done</button></p>
      </section>` : nothing}
      <form class="key-form" aria-labelledby="create-key-heading" @submit=${(e) => this.create(e)}>
        <h2 id="create-key-heading">Create a key</h2>
        <div class="field"><label for="k-name">Key name</label><input id="k-name" name="name" required maxlength="100"></div>
        <fieldset><legend>Scopes</legend>
          ${offered.map((s) => html`<div class="field check"><input type="checkbox" id="k-${s}" name="scopes" value=${s}>
            <label for="k-${s}">${s}</label></div>`)}
        </fieldset>
        <div class="field"><label for="k-actor">Restrict to actor id (optional)</label><input id="k-actor" name="actor_id"></div>
        <div class="actions"><button type="submit" class="primary">Create key</button></div>
      </form>
      <h2>Keys</h2>
      ${this.keys === null ? html`<p class="muted">Loading…</p>` : html`<table class="keys">
        <caption>Keys of this tenant (the secret is never shown again, only its first characters)</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">Scopes</th>
          <th scope="col">Actor</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="sr-only">Revoke</span></th></tr></thead>
        <tbody>${this.keys.map((k) => html`<tr>
          <td>${k.name}</td><td><code>${k.prefix}</code></td><td>${k.scopes.join(", ")}</td><td>${k.actor_id || ""}</td>
          <td>${time(k.created_at)}</td><td>${time(k.last_used_at)}</td>
          <td><button type="button" class="danger" aria-label=${`Revoke ${k.name}`} @click=${() => this.revoke(k)}>Revoke</button></td>
        </tr>`)}</tbody>
      </table>`}
      ${this.nextCursor ? html`<button type="button" @click=${() => this.load(this.nextCursor)}>Load more</button>` : nothing}`;
  }
}
customElements.define("al-keys", AlKeys);
