// Exports (exports:manage): the tenant's exports and their runs (live status, rows, size,
// download), a new run, the schedule editor, deletion.
import { html, nothing } from "lit";
import { LightElement } from "./base.js";
import { bytes, localTime, utcTitle } from "./format.js";

const LIVE = new Set(["queued", "running"]);
const time = (iso) => (iso ? html`<time datetime=${iso} title=${utcTitle(iso)}>${localTime(iso)}</time>` : "");

function filtersInWords(f) {
  if (!f) return "every event";
  const parts = [];
  if (f.actions && f.actions.length) parts.push(`action ${f.actions.join(" or ")}`);
  if (f.actor_id) parts.push(`user ${f.actor_id}`);
  if (f.target_type) parts.push(`resource ${f.target_type}${f.target_id ? ` ${f.target_id}` : ""}`);
  if (f.outcome) parts.push(f.outcome);
  if (f.q) parts.push(`matching “${f.q}”`);
  if (f.from) parts.push(`from ${localTime(f.from)}`);
  if (f.to) parts.push(`until ${localTime(f.to)}`);
  return parts.length ? parts.join(", ") : "every event";
}

export class AlExports extends LightElement {
  static properties = {
    api: { attribute: false },
    highlight: { attribute: false },
    exports: { state: true },
    runs: { state: true },
    schedules: { state: true },
    editing: { state: true },
    nextCursor: { state: true },
    error: { state: true },
    message: { state: true },
  };

  constructor() {
    super();
    this.exports = null;
    this.runs = {};
    this.schedules = {};
    this.editing = null;
    this.nextCursor = null;
    this.error = "";
    this.message = "";
  }

  connectedCallback() {
    super.connectedCallback();
    this.load();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearTimeout(this._poll);
  }

  async load(cursor = null) {
    try {
      const page = await this.api.get("/v1/exports", { limit: 50, ...(cursor ? { cursor } : {}) });
      this.exports = cursor ? [...this.exports, ...page.exports] : page.exports;
      this.nextCursor = page.next_cursor;
      await Promise.all(page.exports.map((x) => this.loadRuns(x.id)));
      this.schedulePoll();
    } catch (err) {
      this.error = err.message;
    }
  }

  async loadRuns(id) {
    try {
      const page = await this.api.get(`/v1/exports/${encodeURIComponent(id)}/runs`, { limit: 5 });
      this.runs = { ...this.runs, [id]: page.runs };
    } catch (err) {
      if (err.status === 404) this.exports = this.exports.filter((x) => x.id !== id);
      else this.error = err.message;
    }
  }

  /** While a run is queued or running, its export's runs are asked again every 2 seconds. */
  schedulePoll() {
    clearTimeout(this._poll);
    const live = Object.entries(this.runs).filter(([, runs]) => runs.some((r) => LIVE.has(r.status)));
    if (!live.length || !this.isConnected) return;
    this._poll = setTimeout(async () => {
      await Promise.all(live.map(([id]) => this.loadRuns(id)));
      this.schedulePoll();
    }, 2000);
  }

  async runNow(x) {
    this.error = "";
    try {
      await this.api.post(`/v1/exports/${encodeURIComponent(x.id)}/runs`, {});
      await this.loadRuns(x.id);
      this.message = `A new run of “${x.name}” started.`;
      this.schedulePoll();
    } catch (err) {
      this.error = err.message;
    }
  }

  // Not `remove`: that name would shadow Element.remove(), which Lit calls to take the page away.
  async deleteExport(x) {
    this.error = "";
    try {
      await this.api.del(`/v1/exports/${encodeURIComponent(x.id)}`);
      this.exports = this.exports.filter((e) => e.id !== x.id);
      this.message = `Export “${x.name}” deleted, with its schedule and files.`;
    } catch (err) {
      this.error = err.message;
    }
  }

  async download(x, run) {
    this.error = "";
    try {
      await this.api.download(run.download_url);
    } catch (err) {
      this.error = err.message;
    }
  }

  async editSchedule(x) {
    this.editing = x.id;
    this.error = "";
    try {
      const schedule = await this.api.get(`/v1/exports/${encodeURIComponent(x.id)}/schedule`);
      this.schedules = { ...this.schedules, [x.id]: schedule };
    } catch (err) {
      if (err.status === 404) this.schedules = { ...this.schedules, [x.id]: null };
      else this.error = err.message;
    }
  }

  async saveSchedule(e, x) {
    e.preventDefault();
    const data = new FormData(e.target);
    const body = {
      expression: String(data.get("expression")).trim(),
      timezone: String(data.get("timezone")).trim(),
      window: String(data.get("window")).trim(),
      enabled: Boolean(data.get("enabled")),
    };
    this.error = "";
    try {
      const saved = await this.api.put(`/v1/exports/${encodeURIComponent(x.id)}/schedule`, body);
      this.schedules = { ...this.schedules, [x.id]: saved };
      this.message = `Schedule of “${x.name}” saved.`;
    } catch (err) {
      this.error = err.message;
    }
  }

  async removeSchedule(x) {
    this.error = "";
    try {
      await this.api.del(`/v1/exports/${encodeURIComponent(x.id)}/schedule`);
      this.schedules = { ...this.schedules, [x.id]: null };
      this.message = `Schedule of “${x.name}” removed.`;
    } catch (err) {
      this.error = err.message;
    }
  }

  renderSchedule(x) {
    if (!(x.id in this.schedules)) return html`<p class="muted" role="status">Loading the schedule…</p>`;
    const s = this.schedules[x.id] || {};
    const tz = s.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    const id = `s-${x.id}`;
    return html`<form class="schedule" aria-label=${`Schedule of ${x.name}`} @submit=${(e) => this.saveSchedule(e, x)}>
      <p>${this.schedules[x.id] ? "Scheduled." : "No schedule yet."} A schedule runs this export for the window
        ending at each firing (at most once an hour).</p>
      <div class="field"><label for="${id}-expr">Schedule expression (cron or rate)</label>
        <input id="${id}-expr" name="expression" required .value=${s.expression || "cron(0 6 * * ? *)"}></div>
      <div class="field"><label for="${id}-tz">Time zone</label>
        <input id="${id}-tz" name="timezone" required .value=${tz}></div>
      <div class="field"><label for="${id}-window">Window (ISO 8601 duration)</label>
        <input id="${id}-window" name="window" required .value=${s.window || "P1D"}></div>
      <div class="field check"><input id="${id}-enabled" name="enabled" type="checkbox" ?checked=${s.enabled ?? true}>
        <label for="${id}-enabled">Enabled</label></div>
      <div class="actions"><button type="submit" class="primary">Save schedule</button>
        ${this.schedules[x.id] ? html`<button type="button" @click=${() => this.removeSchedule(x)}>Remove schedule</button>` : nothing}
        <button type="button" @click=${() => { this.editing = null; }}>Close</button></div>
    </form>`;
  }

  renderRuns(x) {
    const runs = this.runs[x.id];
    if (!runs) return html`<p class="muted">Loading runs…</p>`;
    if (!runs.length) return html`<p class="muted">No runs yet.</p>`;
    return html`<table class="runs">
      <caption>Runs of ${x.name}, newest first</caption>
      <thead><tr><th scope="col">Started</th><th scope="col">Status</th><th scope="col">Rows</th>
        <th scope="col">Size</th><th scope="col">Email</th><th scope="col">File</th></tr></thead>
      <tbody>${runs.map((r) => html`<tr data-run=${r.id}>
        <td>${time(r.created_at)}</td>
        <td><span class="status ${r.status}">${r.status}</span>${r.error ? html` <span class="error">${typeof r.error === "string" ? r.error : r.error.message || r.error.code}</span>` : nothing}</td>
        <td>${r.row_count ?? ""}</td>
        <td>${bytes(r.bytes)}</td>
        <td>${r.notification || ""}</td>
        <td>${r.download_url ? html`<button type="button" @click=${() => this.download(x, r)}
          aria-label=${`Download the file of the run of ${localTime(r.created_at)}`}>Download</button>` : ""}</td>
      </tr>`)}</tbody>
    </table>`;
  }

  render() {
    return html`<div class="page-head"><h1>Exports</h1></div>
      <p>Create an export from a view of the Activity page (“Export this view”).</p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <p role="status" class="message">${this.message}</p>
      ${this.exports === null ? html`<p class="muted">Loading…</p>` : nothing}
      ${this.exports && !this.exports.length ? html`<p>No exports yet.</p>` : nothing}
      ${(this.exports || []).map((x) => html`<section class="export ${x.id === this.highlight ? "highlight" : ""}"
          aria-labelledby="x-${x.id}">
        <h2 id="x-${x.id}">${x.name}</h2>
        <p class="muted">${x.format === "jsonl" ? "JSON Lines" : x.format.toUpperCase()}${x.compression === "gzip" ? ", gzip" : ""};
          ${filtersInWords(x.filters)}${(x.recipients || []).length ? `; emailed to ${x.recipients.join(", ")}` : ""}</p>
        <div class="actions">
          <button type="button" @click=${() => this.runNow(x)}>Run now</button>
          <button type="button" aria-expanded=${this.editing === x.id ? "true" : "false"}
            @click=${() => (this.editing === x.id ? (this.editing = null) : this.editSchedule(x))}>Schedule</button>
          <button type="button" class="danger" @click=${() => this.deleteExport(x)}>Delete</button>
        </div>
        ${this.editing === x.id ? this.renderSchedule(x) : nothing}
        ${this.renderRuns(x)}
      </section>`)}
      ${this.nextCursor ? html`<button type="button" @click=${() => this.load(this.nextCursor)}>Load more</button>` : nothing}`;
  }
}
customElements.define("al-exports", AlExports);
