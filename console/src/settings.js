// Settings (logging:manage): logging on/off, actions and metadata keys to include/exclude,
// retention; the month's usage against the quota.
import { html, nothing } from "lit";
import { LightElement } from "./base.js";

const lines = (list) => (list || []).join("\n");
const parse = (text) => String(text || "").split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

export class AlSettings extends LightElement {
  static properties = {
    api: { attribute: false },
    settings: { state: true },
    usage: { state: true },
    error: { state: true },
    message: { state: true },
  };

  connectedCallback() {
    super.connectedCallback();
    this.api.get("/v1/settings").then((s) => { this.settings = s; }, (err) => { this.error = err.message; });
    this.api.get("/v1/usage").then((u) => { this.usage = u; }, (err) => { this.error = err.message; });
  }

  async save(e) {
    e.preventDefault();
    const data = new FormData(e.target);
    const body = {
      logging_enabled: Boolean(data.get("logging_enabled")),
      actions: { include: parse(data.get("actions_include")), exclude: parse(data.get("actions_exclude")) },
      metadata_keys: { include: parse(data.get("metadata_include")), exclude: parse(data.get("metadata_exclude")) },
      retention_days: Number(data.get("retention_days")),
    };
    this.error = "";
    this.message = "";
    try {
      this.settings = await this.api.put("/v1/settings", body);
      this.message = "Settings saved. Ingestion follows them within a minute.";
    } catch (err) {
      this.error = err.message;
    }
  }

  renderUsage() {
    const u = this.usage;
    if (!u) return html`<p class="muted">Loading usage…</p>`;
    const pct = u.monthly_quota ? (100 * u.events_accepted) / u.monthly_quota : 0;
    return html`<section aria-labelledby="usage-heading" class="usage">
      <h2 id="usage-heading">Usage in ${u.month}</h2>
      <label for="usage-meter">Events accepted this month</label>
      <meter id="usage-meter" min="0" max=${u.monthly_quota} value=${u.events_accepted}
        high=${Math.round(u.monthly_quota * 0.8)} optimum="0"></meter>
      <p>${u.events_accepted} of ${u.monthly_quota} events (${pct < 0.1 && pct > 0 ? "<0.1" : pct.toFixed(1)}% of the monthly quota)</p>
    </section>`;
  }

  render() {
    const s = this.settings;
    return html`<div class="page-head"><h1>Settings</h1></div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <p role="status" class="message">${this.message || ""}</p>
      ${this.renderUsage()}
      ${s ? html`<form class="settings" aria-labelledby="logging-heading" @submit=${(e) => this.save(e)}>
        <h2 id="logging-heading">Logging</h2>
        <div class="field check"><input id="s-enabled" name="logging_enabled" type="checkbox" ?checked=${s.logging_enabled}>
          <label for="s-enabled">Logging enabled</label></div>
        <p class="hint">Names, <code>prefix.*</code> patterns or <code>*</code>, one a line.</p>
        <div class="grid2">
          <div class="field"><label for="s-ai">Actions to include</label>
            <textarea id="s-ai" name="actions_include" rows="3" .value=${lines(s.actions.include)}></textarea></div>
          <div class="field"><label for="s-ae">Actions to exclude</label>
            <textarea id="s-ae" name="actions_exclude" rows="3" .value=${lines(s.actions.exclude)}></textarea></div>
          <div class="field"><label for="s-mi">Metadata keys to include</label>
            <textarea id="s-mi" name="metadata_include" rows="3" .value=${lines(s.metadata_keys.include)}></textarea></div>
          <div class="field"><label for="s-me">Metadata keys to exclude</label>
            <textarea id="s-me" name="metadata_exclude" rows="3" .value=${lines(s.metadata_keys.exclude)}></textarea></div>
        </div>
        <div class="field"><label for="s-ret">Retention (days)</label>
          <input id="s-ret" name="retention_days" type="number" min="1" max="3650" required .value=${String(s.retention_days)}></div>
        <div class="actions"><button type="submit" class="primary">Save settings</button></div>
      </form>` : html`<p class="muted">Loading settings…</p>`}`;
  }
}
customElements.define("al-settings", AlSettings);
