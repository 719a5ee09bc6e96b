// The Activity page: the filters (in the URL's query string), the feed, "Export this view",
// "Create alert from this view".
import { html, nothing } from "lit";
import { LightElement } from "./base.js";
import { PRESETS, exportFilters, fromLocalInput, groupActions, toLocalInput, toQuery } from "./filters.js";
import "./feed.js";
import "./alerts.js";

const debounce = (fn, ms) => {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
};

export class AlActivity extends LightElement {
  static properties = {
    api: { attribute: false },
    caps: { attribute: false },
    filters: { attribute: false },
    eventId: { attribute: false },
    nav: { attribute: false },
    actions: { state: true },
    actors: { state: true },
    types: { state: true },
    targets: { state: true },
    exporting: { state: true },
    exportError: { state: true },
    alerting: { state: true },
  };

  constructor() {
    super();
    this.actions = [];
    this.actors = [];
    this.types = [];
    this.targets = [];
    this.exporting = false;
    this.exportError = "";
    this.alerting = false;
    this.suggestActors = debounce((q) => this.loadActors(q), 150);
    this.suggestTargets = debounce((q) => this.loadTargets(q), 150);
  }

  /** The pickers' lists, once the feed is shown (they are not what a person waits for first). */
  loadCatalogue() {
    if (this._catalogue) return;
    this._catalogue = true;
    if (this.caps.catalogue) {
      this.api.get("/v1/actions").then((r) => { this.actions = r.actions.map((a) => a.action); }, () => {});
      this.loadActors("");
      this.api.get("/v1/targets", { limit: 200 }).then(
        (r) => { this.types = [...new Set(r.targets.map((t) => t.type))].sort(); },
        () => {},
      );
      if (this.filters.target_type) this.loadTargets("");
    }
  }

  willUpdate(changed) {
    if (changed.has("filters") && this._catalogue && this.caps.catalogue && this.filters.target_type) {
      const before = changed.get("filters");
      if (!before || before.target_type !== this.filters.target_type) this.loadTargets("");
    }
  }

  loadActors(q) {
    if (!this.caps.catalogue) return;
    this.api.get("/v1/actors", { limit: 20, ...(q ? { q } : {}) }).then((r) => { this.actors = r.actors; }, () => {});
  }

  loadTargets(q) {
    const type = this.filters.target_type;
    if (!this.caps.catalogue || !type) return;
    this.api.get("/v1/targets", { type, limit: 20, ...(q ? { q } : {}) }).then(
      (r) => { if (this.filters.target_type === type) this.targets = r.targets; },
      () => {},
    );
  }

  /** A new view: the filters changed (the event detail closes). */
  apply(change) {
    const next = { ...this.filters, ...change };
    if (!next.target_type) next.target_id = "";
    this.nav(`?${toQuery(next)}`);
  }

  preset(range) {
    this.apply({ range: this.filters.range === range ? "" : range, from: "", to: "" });
  }

  customTime(which, input) {
    const iso = fromLocalInput(input.value);
    const base = this.filters.range === "custom" ? this.filters : { ...this.filters, from: "", to: "" };
    const next = { ...base, [which]: iso };
    this.apply({ ...next, range: next.from || next.to ? "custom" : "" });
  }

  /** Text fields apply on Enter, on leaving the field, or on picking a suggestion. */
  textField(name, label, { list, suggest, disabled = false, type = "text", hint = "" } = {}) {
    const commit = (input) => {
      const v = input.value.trim();
      if (v !== (this.filters[name] || "")) this.apply({ [name]: v });
    };
    return html`<div class="field">
      <label for="f-${name}">${label}</label>
      <input id="f-${name}" type=${type} .value=${this.filters[name] || ""} ?disabled=${disabled}
        list=${list || nothing} autocomplete="off" placeholder=${hint}
        @input=${(e) => {
          if (e.inputType === "insertReplacementText" || e.inputType === undefined) commit(e.target);
          else if (suggest) suggest(e.target.value.trim());
        }}
        @keydown=${(e) => { if (e.key === "Enter") { e.preventDefault(); commit(e.target); } }}
        @change=${(e) => commit(e.target)}>
    </div>`;
  }

  renderAction() {
    const groups = groupActions(this.actions);
    const current = this.filters.actions[0] || "";
    const known = new Set(groups.flatMap((g) => [g.wildcard, ...g.actions]));
    if (!this.caps.catalogue) {
      return html`<div class="field"><label for="f-action">Action</label>
        <input id="f-action" .value=${current} placeholder="user.login or user.*"
          @change=${(e) => this.apply({ actions: e.target.value.trim() ? [e.target.value.trim()] : [] })}
          @keydown=${(e) => { if (e.key === "Enter") { e.preventDefault(); e.target.dispatchEvent(new Event("change")); } }}>
      </div>`;
    }
    return html`<div class="field">
      <label for="f-action">Action</label>
      <select id="f-action" @change=${(e) => this.apply({ actions: e.target.value ? [e.target.value] : [] })}>
        <option value="" ?selected=${!current}>Any action</option>
        ${current && !known.has(current) ? html`<option value=${current} selected>${current}</option>` : nothing}
        ${groups.map((g) => html`<optgroup label=${g.prefix}>
          ${g.wildcard ? html`<option value=${g.wildcard} ?selected=${current === g.wildcard}>${g.wildcard} (all ${g.prefix} actions)</option>` : nothing}
          ${g.actions.map((a) => html`<option value=${a} ?selected=${current === a}>${a}</option>`)}
        </optgroup>`)}
      </select>
    </div>`;
  }

  async createExport(e) {
    e.preventDefault();
    const form = e.target;
    const data = new FormData(form);
    const recipients = String(data.get("recipients") || "").split(/[\s,;]+/).filter(Boolean);
    const body = {
      name: String(data.get("name") || "").trim(),
      format: data.get("format"),
      compression: data.get("gzip") ? "gzip" : "none",
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
    const today = new Date().toISOString().slice(0, 10);
    return html`<form class="export-form" aria-labelledby="export-form-heading" @submit=${(e) => this.createExport(e)}>
      <h2 id="export-form-heading">Export this view</h2>
      <div class="field"><label for="x-name">Export name</label>
        <input id="x-name" name="name" required maxlength="200" .value=${`Activity ${today}`}></div>
      <div class="field"><label for="x-format">Format</label>
        <select id="x-format" name="format"><option value="csv">CSV</option><option value="jsonl">JSON Lines</option></select></div>
      <div class="field check"><input id="x-gzip" name="gzip" type="checkbox"><label for="x-gzip">Compress with gzip</label></div>
      <div class="field"><label for="x-recipients">Recipients (email addresses, optional)</label>
        <input id="x-recipients" name="recipients" type="text" placeholder="auditor@example.com"></div>
      ${this.exportError ? html`<p class="error" role="alert">${this.exportError}</p>` : nothing}
      <div class="actions"><button type="submit" class="primary">Create export</button>
        <button type="button" @click=${() => { this.exporting = false; this.exportError = ""; }}>Cancel</button></div>
    </form>`;
  }

  render() {
    const f = this.filters;
    const restricted = Boolean(this.caps.actorId);
    const heading = restricted ? "My activity" : "Activity";
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
      <form class="filters" role="search" aria-label="Filters" @submit=${(e) => e.preventDefault()}>
        ${restricted ? nothing : this.textField("actor_id", "User", { list: "actor-options", suggest: this.suggestActors, hint: "user id, name or email" })}
        ${this.renderAction()}
        ${this.textField("target_type", "Resource type", { list: "type-options", hint: "e.g. asset" })}
        ${this.textField("target_id", "Resource", { list: "target-options", suggest: this.suggestTargets, disabled: !f.target_type, hint: f.target_type ? "id or name" : "pick a type first" })}
        <div class="field"><label for="f-outcome">Outcome</label>
          <select id="f-outcome" @change=${(e) => this.apply({ outcome: e.target.value })}>
            <option value="" ?selected=${!f.outcome}>Any outcome</option>
            <option value="success" ?selected=${f.outcome === "success"}>success</option>
            <option value="failure" ?selected=${f.outcome === "failure"}>failure</option>
          </select></div>
        ${this.textField("q", "Search", { type: "search", hint: "free text" })}
        <fieldset class="dates"><legend>Date range</legend>
          <div class="presets">${Object.entries(PRESETS).map(([key, [label]]) => html`<button type="button"
            aria-pressed=${f.range === key ? "true" : "false"} @click=${() => this.preset(key)}>${label}</button>`)}</div>
          <div class="field"><label for="f-from">From</label>
            <input id="f-from" type="datetime-local" .value=${f.range === "custom" ? toLocalInput(f.from) : ""}
              @change=${(e) => this.customTime("from", e.target)}></div>
          <div class="field"><label for="f-to">To</label>
            <input id="f-to" type="datetime-local" .value=${f.range === "custom" ? toLocalInput(f.to) : ""}
              @change=${(e) => this.customTime("to", e.target)}></div>
        </fieldset>
        <div class="field clear"><button type="button" @click=${() => this.nav("?")}>Clear filters</button></div>
        <datalist id="actor-options">${this.actors.map((a) => html`<option value=${a.id}>${[a.name, a.email].filter(Boolean).join(" · ") || a.id}</option>`)}</datalist>
        <datalist id="type-options">${this.types.map((t) => html`<option value=${t}></option>`)}</datalist>
        <datalist id="target-options">${this.targets.map((t) => html`<option value=${t.id}>${t.name || t.id}</option>`)}</datalist>
      </form>
      ${f.target_type && !f.target_id ? html`<p class="hint" role="status">Type alone does not filter: pick one ${f.target_type} in Resource to see its history.</p>` : nothing}
      <al-feed @feed-ready=${() => this.loadCatalogue()} .api=${this.api} .filters=${f} .eventId=${this.eventId} .nav=${this.nav} .heading=${heading}></al-feed>`;
  }
}
customElements.define("al-activity", AlActivity);
