// The Activity page: the filters (in the URL's query string), the feed, "Export this view",
// "Create alert from this view".
import { html, nothing } from "lit";
import { LightElement } from "./base.js";
import { exportFilters, toQuery } from "./filters.js";
import "./filterbar.js";
import "./feed.js";
import "./alerts.js";

/** The export formats offered: the API's `format` and its name. */
const FORMATS = [["csv", "CSV"], ["jsonl", "JSON Lines"], ["pdf", "PDF"]];

export class AlActivity extends LightElement {
  static properties = {
    api: { attribute: false },
    caps: { attribute: false },
    filters: { attribute: false },
    eventId: { attribute: false },
    nav: { attribute: false },
    exporting: { state: true },
    exportError: { state: true },
    exportFormat: { state: true },
    exportGzip: { state: true },
    alerting: { state: true },
  };

  constructor() {
    super();
    this.exporting = false;
    this.exportError = "";
    this.exportFormat = "csv";
    this.exportGzip = false;
    this.alerting = false;
  }

  /** A new view: the filters changed (the event detail closes). */
  apply(next) {
    this.nav(`?${toQuery(next)}`);
  }

  async createExport(e) {
    e.preventDefault();
    const form = e.target;
    const data = new FormData(form);
    const recipients = String(data.get("recipients") || "").split(/[\s,;]+/).filter(Boolean);
    const body = {
      name: String(data.get("name") || "").trim(),
      format: data.get("format"),
      // A disabled checkbox (PDF) is not in the form's data: no gzip.
      compression: data.get("gzip") && data.get("format") !== "pdf" ? "gzip" : "none",
      filters: exportFilters(this.filters, new Date()),
      recipients,
    };
    this.exportError = "";
    try {
      const created = await this.api.post("/v1/exports", body);
      this.exporting = false;
      this.nav(`?page=exports&export=${encodeURIComponent(created.export.id)}`);
    } catch (err) {
      this.exportError = err.message;
    }
  }

  renderExportForm() {
    const pdf = this.exportFormat === "pdf";
    const today = new Date().toISOString().slice(0, 10);
    return html`<form class="export-form" aria-labelledby="export-form-heading" @submit=${(e) => this.createExport(e)}>
      <h2 id="export-form-heading">Export this view</h2>
      <div class="field"><label for="x-name">Export name</label>
        <input id="x-name" name="name" required maxlength="200" .value=${`Activity ${today}`}></div>
      <div class="field"><label for="x-format">Format</label>
        <select id="x-format" name="format" @change=${(e) => { this.exportFormat = e.target.value; }}>
          ${FORMATS.map(([value, label]) => html`<option value=${value} ?selected=${this.exportFormat === value}>${label}</option>`)}
        </select></div>
      <div class="field check"><input id="x-gzip" name="gzip" type="checkbox" ?disabled=${pdf} .checked=${!pdf && this.exportGzip}
          @change=${(e) => { this.exportGzip = e.target.checked; }}
          aria-describedby=${pdf ? "x-gzip-hint" : nothing}><label for="x-gzip">Compress with gzip</label></div>
      ${pdf ? html`<p id="x-gzip-hint" class="hint">A PDF is a report to read and print (at most 10,000 events): gzip does not apply to it.</p>` : nothing}
      <div class="field"><label for="x-recipients">Recipients (email addresses, optional)</label>
        <input id="x-recipients" name="recipients" type="text" placeholder="auditor@example.com"></div>
      ${this.exportError ? html`<p class="error" role="alert">${this.exportError}</p>` : nothing}
      <div class="actions"><button type="submit" class="primary">Create export</button>
        <button type="button" @click=${() => { this.exporting = false; this.exportError = ""; }}>Cancel</button></div>
    </form>`;
  }

  render() {
    const f = this.filters;
    const heading = this.caps.actorId ? "My activity" : "Activity";
    return html`
      <div class="page-head">
        <h1>${heading}</h1>
        <div class="actions">
        ${this.caps.alerts ? html`<button type="button" aria-expanded=${this.alerting ? "true" : "false"}
          @click=${() => { this.alerting = !this.alerting; this.exporting = false; }}>Create alert from this view</button>` : nothing}
        ${this.caps.exports ? html`<button type="button" class="primary" aria-expanded=${this.exporting ? "true" : "false"}
          @click=${() => { this.exporting = !this.exporting; this.alerting = false; }}>Export this view</button>` : nothing}
        </div>
      </div>
      ${this.exporting ? this.renderExportForm() : nothing}
      ${this.alerting ? html`<al-alert-form .api=${this.api} .filters=${f} .nav=${this.nav}
        .close=${() => { this.alerting = false; this.updateComplete.then(() => this.querySelector(".page-head button")?.focus()); }}></al-alert-form>` : nothing}
      <al-filter-bar .api=${this.api} .caps=${this.caps} .filters=${f} .applyFilters=${(next) => this.apply(next)}></al-filter-bar>
      <al-feed @feed-ready=${() => this.querySelector("al-filter-bar")?.loadCatalogue()} .api=${this.api} .filters=${f} .eventId=${this.eventId} .nav=${this.nav} .heading=${heading}></al-feed>`;
  }
}
customElements.define("al-activity", AlActivity);
