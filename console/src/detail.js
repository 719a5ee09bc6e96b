// One event: every field, the changes as a table, links to the actor's activity and to each
// target's history, and the raw JSON (copyable). Every value is text: Lit escapes it.
import { html, nothing } from "lit";
import { LightElement } from "./base.js";
import { localTime, utcTitle, value } from "./format.js";

const row = (label, content) =>
  content === undefined || content === null || content === ""
    ? nothing
    : html`<tr><th scope="row">${label}</th><td>${content}</td></tr>`;
const time = (iso) => (iso ? html`<time datetime=${iso} title=${utcTitle(iso)}>${localTime(iso)}</time>` : "");

export class AlEventDetail extends LightElement {
  static properties = {
    event: { attribute: false },
    error: { attribute: false },
    linkFor: { attribute: false },
    follow: { attribute: false },
    close: { attribute: false },
    copied: { state: true },
  };

  async copy() {
    const text = JSON.stringify(this.event, null, 2);
    try {
      await navigator.clipboard.writeText(text);
      this.copied = "Copied to the clipboard.";
    } catch {
      const pre = this.querySelector("pre.raw");
      const range = document.createRange();
      range.selectNodeContents(pre);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      this.copied = "Selected: press Ctrl+C (or ⌘C) to copy.";
    }
  }

  onKey(e) {
    if (e.key === "Escape") this.close();
  }

  link(extra, text) {
    return html`<a href=${this.linkFor(extra)} @click=${this.follow}>${text}</a>`;
  }

  render() {
    const e = this.event;
    return html`<section class="detail" aria-labelledby="event-detail-heading" @keydown=${this.onKey}>
      <div class="detail-head">
        <h2 id="event-detail-heading" tabindex="-1">Event detail</h2>
        <button type="button" @click=${() => this.close()}>Close</button>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${!e && !this.error ? html`<p class="muted" role="status">Loading…</p>` : nothing}
      ${e ? this.renderEvent(e) : nothing}
    </section>`;
  }

  renderEvent(e) {
    const actorQuery = { actor_id: e.actor.id, target_type: null, target_id: null, action: null, q: null,
      outcome: null, range: null, from: null, to: null, event: null };
    const ctx = e.context || {};
    return html`
      <table class="fields">
        <caption>Event</caption>
        <tbody>
          ${row("Action", e.action)}
          ${row("Outcome", e.outcome)}
          ${row("Occurred", time(e.occurred_at))}
          ${row("Received", time(e.received_at))}
          ${row("Expires", time(e.expires_at))}
          ${row("Event id", html`<code>${e.id}</code>`)}
          ${row("Description", e.description)}
        </tbody>
      </table>
      <table class="fields">
        <caption>User</caption>
        <tbody>
          ${row("Id", html`<code>${e.actor.id}</code>`)}
          ${row("Type", e.actor.type)}
          ${row("Name", e.actor.name)}
          ${row("Email", e.actor.email)}
        </tbody>
      </table>
      <p>${this.link(actorQuery, `All activity of ${e.actor.name || e.actor.id}`)}</p>
      ${(e.targets || []).length
        ? html`<table class="fields">
            <caption>Resources</caption>
            <thead><tr><th scope="col">Type</th><th scope="col">Id</th><th scope="col">Name</th><th scope="col">History</th></tr></thead>
            <tbody>${e.targets.map((t) => html`<tr><td>${t.type}</td><td><code>${t.id}</code></td><td>${t.name || ""}</td>
              <td>${this.link({ ...actorQuery, actor_id: null, target_type: t.type, target_id: t.id },
                `History of ${t.type} ${t.name || t.id}`)}</td></tr>`)}</tbody>
          </table>`
        : nothing}
      ${Object.keys(ctx).some((k) => ctx[k] !== null && ctx[k] !== undefined)
        ? html`<table class="fields">
            <caption>Context</caption>
            <tbody>
              ${row("IP address", ctx.ip)}
              ${row("User agent", ctx.user_agent)}
              ${row("Location", ctx.location)}
              ${row("Session", ctx.session_id)}
            </tbody>
          </table>`
        : nothing}
      ${(e.changes || []).length
        ? html`<table class="changes">
            <caption>Changes</caption>
            <thead><tr><th scope="col">Field</th><th scope="col">Previous value</th><th scope="col">New value</th></tr></thead>
            <tbody>${e.changes.map((c) => html`<tr><td>${c.field}</td><td>${value(c.before)}</td><td>${value(c.after)}</td></tr>`)}</tbody>
          </table>`
        : nothing}
      ${e.metadata && Object.keys(e.metadata).length
        ? html`<table class="fields">
            <caption>Metadata</caption>
            <tbody>${Object.entries(e.metadata).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${value(v)}</td></tr>`)}</tbody>
          </table>`
        : nothing}
      <div class="raw-head">
        <h3 id="raw-json-heading">Raw JSON</h3>
        <button type="button" @click=${() => this.copy()}>Copy JSON</button>
        <span role="status">${this.copied || ""}</span>
      </div>
      <pre class="raw" tabindex="0" aria-labelledby="raw-json-heading">${JSON.stringify(e, null, 2)}</pre>`;
  }
}
customElements.define("al-event-detail", AlEventDetail);
