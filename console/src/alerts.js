// Alerts (alerts:manage): the form that creates an alert from the Activity page's view, and the
// Alerts page: the tenant's alerts (rule in words, enabled, last fired), enable/disable, delete,
// and an alert's firings (newest first, Load more) with their events.
import { html, nothing } from "lit";
import { repeat } from "lit/directives/repeat.js";
import { LightElement } from "./base.js";
import { timeRange } from "./filters.js";
import { actorLabel, localTime, timeZone, utcTitle } from "./format.js";
import {
  GROUPS, alertBody, alertFilters, cooldownWords, defaultName, durationWords, fieldOfLoc, filtersWords,
  firingEventParams, firingQuery, groupWords, parseDuration, previewRange, ruleSummary,
} from "./rules.js";

const time = (iso) => (iso ? html`<time datetime=${iso} title=${utcTitle(iso)}>${localTime(iso)}</time>` : "");
const FIRINGS_PAGE = 10;
const POLL_MS = 10_000;

/** "Create alert from this view": a form prefilled with the view's filters. */
export class AlAlertForm extends LightElement {
  static properties = {
    api: { attribute: false },
    filters: { attribute: false }, // the Activity view's filters
    nav: { attribute: false },
    close: { attribute: false },
    values: { state: true },
    errors: { state: true },
    error: { state: true },
    saving: { state: true },
    preview: { state: true },
  };

  constructor() {
    super();
    this.values = { count: "3", window: "PT10M", group_by: "actor", cooldown: "PT1H", recipients: "" };
    this.errors = {};
    this.error = "";
    this.saving = false;
    this.preview = "";
  }

  firstUpdated() {
    this.querySelector("#a-name")?.focus();
  }

  read() {
    const data = new FormData(this.querySelector("form"));
    return {
      name: data.get("name"),
      count: data.get("count"),
      window: data.get("window"),
      group_by: data.get("group_by"),
      cooldown: data.get("cooldown"),
      recipients: data.get("recipients"),
      enabled: Boolean(data.get("enabled")),
    };
  }

  /** The body, or null after showing what is wrong (focus on the first wrong field). */
  checked() {
    const { body, errors } = alertBody(this.read(), alertFilters(this.filters));
    this.errors = errors;
    this.error = "";
    const first = Object.keys(errors)[0];
    if (first) {
      this.error = "Some fields need a change.";
      this.updateComplete.then(() => this.querySelector(`#a-${first.replace("_", "-")}`)?.focus());
      return null;
    }
    return body;
  }

  showApiError(err) {
    const errors = {};
    for (const d of err.details || []) {
      const field = fieldOfLoc(d.loc);
      if (field && !errors[field] && this.querySelector(`#a-${field.replace("_", "-")}`)) errors[field] = d.msg;
    }
    this.errors = errors;
    this.error = err.message;
  }

  async save(e) {
    e.preventDefault();
    const body = this.checked();
    if (!body) return;
    this.saving = true;
    try {
      const created = await this.api.post("/v1/alerts", body);
      this.nav(`?page=alerts&alert=${encodeURIComponent(created.id)}`);
    } catch (err) {
      this.showApiError(err);
    } finally {
      this.saving = false;
    }
  }

  /** What the rule would have done on the stored events of the view's dates (else the last 7
   * days): POST /v1/alerts/preview, following next_cursor a few times. */
  async runPreview() {
    const body = this.checked();
    if (!body) return;
    const { from, to } = previewRange(timeRange(this.filters, new Date()), new Date());
    const span = `from ${localTime(from.toISOString())} to ${localTime(to.toISOString())}`;
    this.preview = `Previewing ${span}…`;
    let firings = 0;
    let cursor = null;
    try {
      for (let round = 0; round < 10; round += 1) {
        const page = await this.api.request("POST", "/v1/alerts/preview", {
          params: cursor ? { cursor } : undefined,
          body: { alert: body, from: from.toISOString(), to: to.toISOString() },
        });
        firings += page.firings.length;
        cursor = page.complete === false ? page.next_cursor : null;
        if (!cursor) break;
      }
      const times = `${firings}${cursor ? "+" : ""} ${firings === 1 && !cursor ? "time" : "times"}`;
      this.preview = `On the stored events ${span}, this alert would have fired ${times}.`;
    } catch (err) {
      this.preview = "";
      this.showApiError(err);
    }
  }

  field(id, label, input, hint = "") {
    const name = id.replace("-", "_");
    const err = this.errors[name];
    const describedBy = [hint ? `a-${id}-hint` : "", err ? `a-${id}-error` : ""].filter(Boolean).join(" ");
    return html`<div class="field">
      <label for="a-${id}">${label}</label>
      ${input(describedBy || nothing, err ? "true" : nothing)}
      ${hint ? html`<span id="a-${id}-hint" class="hint">${hint}</span>` : nothing}
      ${err ? html`<span id="a-${id}-error" class="error">${err}</span>` : nothing}
    </div>`;
  }

  render() {
    const v = this.values;
    const filters = alertFilters(this.filters);
    const words = (iso, fallback) => {
      const ms = parseDuration(iso);
      return ms === null ? fallback : `${iso.trim().toUpperCase()} = ${durationWords(ms)}`;
    };
    const { body } = alertBody(v, filters);
    const valid = Number.isInteger(body.threshold.count) && body.threshold.count >= 1 && parseDuration(body.threshold.window) !== null;
    return html`<form class="alert-form" aria-labelledby="alert-form-heading" novalidate
        @submit=${(e) => this.save(e)} @input=${() => { this.values = this.read(); }}>
      <h2 id="alert-form-heading">Create alert from this view</h2>
      <p>The alert watches <strong>${filtersWords(filters)}</strong> as events arrive.${this.filters.range
        ? " The view's date range is not part of an alert." : ""}</p>
      <div class="alert-fields">
        ${this.field("name", "Name", (d, inv) => html`<input id="a-name" name="name" required maxlength="200"
          .value=${defaultName(filters)} aria-describedby=${d} aria-invalid=${inv}>`)}
        ${this.field("count", "Count", (d, inv) => html`<input id="a-count" name="count" type="number" min="1" max="1000"
          step="1" required .value=${v.count} aria-describedby=${d} aria-invalid=${inv}>`, "events, 1 to 1,000")}
        ${this.field("window", "Window", (d, inv) => html`<input id="a-window" name="window" required list="a-window-options"
          .value=${v.window} autocomplete="off" spellcheck="false" aria-describedby=${d} aria-invalid=${inv}>`,
          words(v.window, "ISO 8601 duration, PT1M to P1D"))}
        ${this.field("group-by", "Group by", (d, inv) => html`<select id="a-group-by" name="group_by"
          aria-describedby=${d} aria-invalid=${inv}>
          ${GROUPS.map(([value, label]) => html`<option value=${value} ?selected=${v.group_by === value}>${label}</option>`)}
        </select>`)}
        ${this.field("cooldown", "Cooldown", (d, inv) => html`<input id="a-cooldown" name="cooldown" list="a-cooldown-options"
          .value=${v.cooldown} autocomplete="off" spellcheck="false" aria-describedby=${d} aria-invalid=${inv}>`,
          words(v.cooldown, "ISO 8601 duration, PT0S to P7D"))}
        ${this.field("recipients", "Recipients", (d, inv) => html`<input id="a-recipients" name="recipients" type="text"
          placeholder="security@example.com" .value=${v.recipients} aria-describedby=${d} aria-invalid=${inv}>`,
          "email addresses, optional, separated by commas")}
      </div>
      <div class="field check"><input id="a-enabled" name="enabled" type="checkbox" checked>
        <label for="a-enabled">Enabled</label></div>
      <datalist id="a-window-options">${["PT5M", "PT10M", "PT30M", "PT1H", "PT6H", "P1D"].map((d) => html`<option value=${d}>${durationWords(parseDuration(d))}</option>`)}</datalist>
      <datalist id="a-cooldown-options">${["PT0S", "PT15M", "PT1H", "PT6H", "P1D"].map((d) => html`<option value=${d}>${durationWords(parseDuration(d))}</option>`)}</datalist>
      <p class="rule">${valid ? html`Fires at <strong>${ruleSummary(body)}</strong>; ${cooldownWords(body)}.` : "Fires when the count and window are set."}</p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <div class="actions">
        <button type="submit" class="primary" ?disabled=${this.saving}>Save alert</button>
        <button type="button" @click=${() => this.runPreview()}>Preview</button>
        <button type="button" @click=${() => this.close()}>Cancel</button>
      </div>
      <p role="status" class="muted">${this.preview}</p>
    </form>`;
  }
}
customElements.define("al-alert-form", AlAlertForm);

/** The Alerts page. */
export class AlAlerts extends LightElement {
  static properties = {
    api: { attribute: false },
    caps: { attribute: false },
    selected: { attribute: false }, // the alert whose firings are shown (?alert=)
    nav: { attribute: false },
    alerts: { state: true },
    firings: { state: true },
    firingsCursor: { state: true },
    firingsLoading: { state: true },
    firingsError: { state: true },
    events: { state: true },
    error: { state: true },
    message: { state: true },
  };

  constructor() {
    super();
    this.alerts = null;
    this.firings = null;
    this.firingsCursor = null;
    this.firingsLoading = false;
    this.firingsError = "";
    this.events = {};
    this.error = "";
    this.message = "";
    this._generation = 0;
    this._queue = Promise.resolve();
  }

  connectedCallback() {
    super.connectedCallback();
    this._loaded = this.load();
    this._loaded.then(() => this.schedulePoll());
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearTimeout(this._poll);
  }

  willUpdate(changed) {
    if (changed.has("selected")) this.openFirings();
  }

  updated(changed) {
    const heading = this._focusFirings && this.querySelector("#firings-heading");
    if (heading) {
      this._focusFirings = false;
      heading.focus();
    }
  }

  get current() {
    return (this.alerts || []).find((a) => a.id === this.selected) || null;
  }

  async load() {
    try {
      const page = await this.api.get("/v1/alerts");
      this.alerts = page.alerts;
      this.error = "";
      return page.alerts;
    } catch (err) {
      this.error = err.message;
      return null;
    }
  }

  /** While the page is open: the list every 10 seconds; new firings of the open alert when its
   * last_fired_at moves. */
  schedulePoll() {
    clearTimeout(this._poll);
    if (!this.isConnected) return;
    this._poll = setTimeout(async () => {
      if (!document.hidden) {
        const before = this.current?.last_fired_at;
        await this.load();
        const now = this.current?.last_fired_at;
        if (this.current && now && now !== before) await this.newFirings();
      }
      this.schedulePoll();
    }, POLL_MS);
  }

  openFirings() {
    const generation = ++this._generation;
    this.firings = null;
    this.firingsCursor = null;
    this.firingsError = "";
    this.events = {};
    if (this.selected) this.loadFirings(generation, null);
  }

  /** Up to FIRINGS_PAGE more firings (an API page may hold fewer while next_cursor is set). */
  async loadFirings(generation, cursor) {
    const id = this.selected;
    this.firingsLoading = true;
    let added = [];
    try {
      for (let round = 0; round < 10; round += 1) {
        const page = await this.api.get(`/v1/alerts/${encodeURIComponent(id)}/firings`, {
          limit: String(FIRINGS_PAGE - added.length), ...(cursor ? { cursor } : {}) });
        if (generation !== this._generation) return;
        added = [...added, ...page.firings];
        cursor = page.next_cursor;
        if (!cursor || added.length >= FIRINGS_PAGE) break;
      }
      this.firings = [...(this.firings || []), ...added];
      this.firingsCursor = cursor;
      for (const f of added) this.loadEvents(f);
    } catch (err) {
      if (generation !== this._generation) return;
      this.firings = this.firings || [];
      this.firingsError = err.status === 404 ? "This alert no longer exists." : err.message;
    } finally {
      if (generation === this._generation) this.firingsLoading = false;
    }
  }

  async newFirings() {
    const generation = this._generation;
    try {
      const page = await this.api.get(`/v1/alerts/${encodeURIComponent(this.selected)}/firings`, { limit: String(FIRINGS_PAGE) });
      if (generation !== this._generation || this.firings === null) return;
      const known = new Set(this.firings.map((f) => f.id));
      const fresh = page.firings.filter((f) => !known.has(f.id));
      if (!fresh.length) return;
      if (!this.firings.length) this.firingsCursor = page.next_cursor;
      this.firings = [...fresh, ...this.firings];
      this.message = `${fresh.length} new ${fresh.length === 1 ? "firing" : "firings"} of “${this.current.name}”.`;
      for (const f of fresh) this.loadEvents(f);
    } catch {
      /* the next poll tries again */
    }
  }

  /** A firing's events, one firing at a time: its window listed (GET /v1/events, the alert's
   * filters, oldest first) and picked by id; ids not found that way are asked one by one. */
  loadEvents(firing) {
    if (!this.caps.events) return;
    const generation = this._generation;
    this._queue = this._queue.then(async () => {
      await this._loaded;
      const alert = this.current;
      if (generation !== this._generation || !alert) return;
      const wanted = new Set(firing.event_ids);
      const found = new Map();
      try {
        let cursor = null;
        for (let round = 0; round < 5 && found.size < wanted.size; round += 1) {
          const params = [...firingEventParams(alert, firing), ["order", "asc"], ["limit", "200"]];
          if (cursor) params.push(["cursor", cursor]);
          const page = await this.api.get("/v1/events", params);
          for (const e of page.events) if (wanted.has(e.id)) found.set(e.id, e);
          cursor = page.next_cursor;
          if (!cursor) break;
        }
        const missing = firing.event_ids.filter((id) => !found.has(id));
        for (let i = 0; i < missing.length; i += 4) {
          await Promise.all(missing.slice(i, i + 4).map((id) => this.api.get(`/v1/events/${encodeURIComponent(id)}`)
            .then((e) => found.set(id, e), () => {})));
        }
        if (generation !== this._generation) return;
        this.events = { ...this.events, [firing.id]: { list: firing.event_ids.map((id) => found.get(id) || { id, missing: true }) } };
      } catch (err) {
        if (generation === this._generation) this.events = { ...this.events, [firing.id]: { error: err.message } };
      }
    });
  }

  async setEnabled(alert, enabled) {
    this.error = "";
    try {
      const saved = await this.api.put(`/v1/alerts/${encodeURIComponent(alert.id)}`, { enabled });
      this.alerts = this.alerts.map((a) => (a.id === alert.id ? saved : a));
      this.message = `Alert “${alert.name}” ${enabled ? "enabled" : "disabled"}.`;
      this.updateComplete.then(() => this.querySelector(`button[data-toggle="${CSS.escape(alert.id)}"]`)?.focus());
    } catch (err) {
      this.error = err.message;
    }
  }

  // Not `remove`: that name would shadow Element.remove(), which Lit calls to take the page away.
  async deleteAlert(alert) {
    this.error = "";
    try {
      await this.api.del(`/v1/alerts/${encodeURIComponent(alert.id)}`);
      this.alerts = this.alerts.filter((a) => a.id !== alert.id);
      this.message = `Alert “${alert.name}” deleted.`;
      if (this.selected === alert.id) this.nav("?page=alerts");
      this.updateComplete.then(() => this.querySelector("h1")?.focus());
    } catch (err) {
      this.error = err.message;
    }
  }

  follow(e, { focus = false } = {}) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    this._focusFirings = focus;
    this.nav(new URL(e.currentTarget.href).search);
    if (focus) this.requestUpdate(); // the alert already open: no new route, focus its firings all the same
  }

  renderAlert(a) {
    const selected = a.id === this.selected;
    const recipients = a.recipients || [];
    return html`<tr class=${selected ? "selected" : ""}>
      <td><a href=${`?page=alerts&alert=${encodeURIComponent(a.id)}`} aria-current=${selected ? "true" : nothing}
        @click=${(e) => this.follow(e, { focus: true })}>${a.name}</a></td>
      <td>${ruleSummary(a)}<div class="muted">${filtersWords(a.filters)}; ${cooldownWords(a)}${recipients.length
        ? `; emailed to ${recipients.join(", ")}` : ""}</div></td>
      <td><span class="status ${a.enabled ? "enabled" : "disabled"}">${a.enabled ? "Enabled" : "Disabled"}</span></td>
      <td>${a.last_fired_at ? time(a.last_fired_at) : html`<span class="muted">Never</span>`}</td>
      <td><div class="actions">
        <button type="button" data-toggle=${a.id} aria-label=${`${a.enabled ? "Disable" : "Enable"} ${a.name}`}
          @click=${() => this.setEnabled(a, !a.enabled)}>${a.enabled ? "Disable" : "Enable"}</button>
        <button type="button" class="danger" aria-label=${`Delete ${a.name}`} @click=${() => this.deleteAlert(a)}>Delete</button>
      </div></td>
    </tr>`;
  }

  renderEvents(alert, f) {
    const loaded = this.events[f.id];
    if (!this.caps.events) {
      return html`<p>Events: ${f.event_ids.map((id, i) => html`${i ? ", " : ""}<code>${id}</code>`)}</p>`;
    }
    if (!loaded) return html`<p class="muted">Loading the events…</p>`;
    if (loaded.error) return html`<p class="error">The events could not be loaded: ${loaded.error}</p>`;
    return html`<table class="firing-events">
      <caption>Events of this firing, oldest first</caption>
      <thead><tr><th scope="col">Time</th><th scope="col">User</th><th scope="col">Action</th><th scope="col">Event id</th></tr></thead>
      <tbody>${loaded.list.map((e) => (e.missing
        ? html`<tr><td colspan="3" class="muted">No longer visible (expired or out of reach)</td><td><code>${e.id}</code></td></tr>`
        : html`<tr>
          <td>${time(e.occurred_at)}</td>
          <td title=${e.actor.id}>${actorLabel(e.actor)}</td>
          <td>${e.action}</td>
          <td><a href=${`?${firingQuery(alert, f, { event: e.id })}`} @click=${(ev) => this.follow(ev)}
            aria-label=${`Event ${e.id}: details`}><code>${e.id}</code></a></td>
        </tr>`))}</tbody>
    </table>`;
  }

  renderFiring(alert, f) {
    const group = groupWords(alert.group_by, f.group);
    return html`<section class="firing" aria-labelledby=${`firing-${f.id}`}>
      <h3 id=${`firing-${f.id}`}>Fired ${time(f.fired_at)}${group ? ` · ${group}` : ""}</h3>
      <p>${f.count} ${f.count === 1 ? "event" : "events"} from ${time(f.window_start)} to ${time(f.window_end)} ·
        <a href=${`?${firingQuery(alert, f)}`} @click=${(e) => this.follow(e)}>Show this window in Activity</a></p>
      ${this.renderEvents(alert, f)}
      ${f.count > f.event_ids.length ? html`<p class="muted">The first ${f.event_ids.length} of its ${f.count} events.</p>` : nothing}
    </section>`;
  }

  renderFirings() {
    const alert = this.current;
    if (!this.selected) return html`<p class="muted">Choose an alert to see its firings.</p>`;
    if (this.alerts && !alert) return html`<p class="error" role="alert">No such alert: it may have been deleted.</p>`;
    if (!alert) return nothing;
    return html`<section class="firings" aria-labelledby="firings-heading">
      <h2 id="firings-heading" tabindex="-1">Firings of ${alert.name}</h2>
      <p class="muted">Newest first; times in ${timeZone()} (hover a time for UTC).${alert.rule_since
        ? html` The rule applies to events accepted since ${time(alert.rule_since)}.` : nothing}</p>
      ${this.firingsError ? html`<p class="error" role="alert">${this.firingsError}</p>` : nothing}
      ${this.firings && !this.firings.length && !this.firingsLoading && !this.firingsError
        ? html`<p class="empty">No firings yet.</p>` : nothing}
      ${repeat(this.firings || [], (f) => f.id, (f) => this.renderFiring(alert, f))}
      ${this.firingsLoading ? html`<p class="muted" role="status">Loading firings…</p>` : nothing}
      ${this.firingsCursor && !this.firingsLoading
        ? html`<button type="button" class="load-more" @click=${() => this.loadFirings(this._generation, this.firingsCursor)}>Load more</button>`
        : nothing}
    </section>`;
  }

  render() {
    return html`<div class="page-head"><h1 tabindex="-1">Alerts</h1>
        <button type="button" @click=${() => this.load().then(() => this.current && this.newFirings())}>Refresh</button></div>
      <p>An alert notices a pattern as events arrive and emails its recipients. To create one, set the filters on the
        <a href="?" @click=${(e) => this.follow(e)}>Activity</a> page and use “Create alert from this view”.</p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <p role="status" class="message">${this.message}</p>
      ${this.alerts === null && !this.error ? html`<p class="muted">Loading…</p>` : nothing}
      ${this.alerts && !this.alerts.length ? html`<p class="empty">No alerts yet.</p>` : nothing}
      ${this.alerts && this.alerts.length ? html`<table class="alerts">
        <caption>Alerts of this tenant, oldest first; times in ${timeZone()}</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Rule</th><th scope="col">Status</th>
          <th scope="col">Last fired</th><th scope="col">Actions</th></tr></thead>
        <tbody>${repeat(this.alerts, (a) => a.id, (a) => this.renderAlert(a))}</tbody>
      </table>` : nothing}
      ${this.renderFirings()}`;
  }
}
customElements.define("al-alerts", AlAlerts);
