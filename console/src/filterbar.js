// The filter bar of a view (Activity and Reports): user, action, resource type + resource, outcome,
// search, date presets and a custom range, "Clear filters". It shows `filters` and hands the next
// filters to `applyFilters`; where they go (the page's query string) is the page's business.
import { html, nothing } from "lit";
import { LightElement } from "./base.js";
import { PRESETS, emptyFilters, fromLocalInput, groupActions, toLocalInput } from "./filters.js";

const debounce = (fn, ms) => {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
};

export class AlFilterBar extends LightElement {
  static properties = {
    api: { attribute: false },
    caps: { attribute: false },
    filters: { attribute: false },
    applyFilters: { attribute: false }, // (next filters) => void
    actions: { state: true },
    actors: { state: true },
    types: { state: true },
    targets: { state: true },
  };

  constructor() {
    super();
    this.actions = [];
    this.actors = [];
    this.types = [];
    this.targets = [];
    this.suggestActors = debounce((q) => this.loadActors(q), 150);
    this.suggestTargets = debounce((q) => this.loadTargets(q), 150);
  }

  /** The pickers' lists, asked for by the page once its data is shown (they are not what a
   * person waits for first). */
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

  /** A new view: the filters changed. */
  apply(change) {
    const next = { ...this.filters, ...change };
    if (!next.target_type) next.target_id = "";
    this.applyFilters(next);
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

  render() {
    const f = this.filters;
    const restricted = Boolean(this.caps.actorId);
    return html`
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
        <div class="field clear"><button type="button" @click=${() => this.applyFilters(emptyFilters())}>Clear filters</button></div>
        <datalist id="actor-options">${this.actors.map((a) => html`<option value=${a.id}>${[a.name, a.email].filter(Boolean).join(" · ") || a.id}</option>`)}</datalist>
        <datalist id="type-options">${this.types.map((t) => html`<option value=${t}></option>`)}</datalist>
        <datalist id="target-options">${this.targets.map((t) => html`<option value=${t.id}>${t.name || t.id}</option>`)}</datalist>
      </form>
      ${f.target_type && !f.target_id ? html`<p class="hint" role="status">Type alone does not filter: pick one ${f.target_type} in Resource to see its history.</p>` : nothing}`;
  }
}
customElements.define("al-filter-bar", AlFilterBar);
