// The Reports page (events:read or events:read:self): for the view's filters (the Activity filter
// bar and query string), events per interval as a bar chart (a bar opens that interval in
// Activity), the top users, actions and resources (each opens the feed with that filter added),
// and the weekday x hour heatmap. An answer that says `complete: false` is shown as it is, said to
// be still computing, and asked again after its `retry_after_seconds`.
import { html, nothing } from "lit";
import { LightElement } from "./base.js";
import { problem, toQuery } from "./filters.js";
import { localTime, timeZone, utcTitle } from "./format.js";
import {
  GROUPS, INTERVALS, WEEKDAYS, activityParams, heatLevel, heatmapParams, intervalFilters, intervalLabel,
  reportQuery, retryDelay, topFilters, topLabel,
} from "./report.js";
import "./filterbar.js";
import "./barchart.js";

const time = (iso) => (iso ? html`<time datetime=${iso} title=${utcTitle(iso)}>${localTime(iso)}</time>` : "");
const SHORT_DAY = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const SHORT_HOUR = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
const COLUMN = { actor: "User", action: "Action", target: "Resource" };
const NOUN = { actor: "users", action: "actions", target: "resources" };
const INTERVAL_NOUN = { hour: "hour", day: "day", week: "week" };

export class AlReports extends LightElement {
  static properties = {
    api: { attribute: false },
    caps: { attribute: false },
    filters: { attribute: false },
    interval: { attribute: false },
    nav: { attribute: false },
    answers: { state: true }, // part -> the route's answer (series, actor, action, target, heatmap)
    errors: { state: true }, // part -> message
    waiting: { state: true }, // part -> seconds until it is asked again (complete: false)
    tableOpen: { state: true },
  };

  constructor() {
    super();
    this.interval = "day";
    this.answers = {};
    this.errors = {};
    this.waiting = {};
    this.tableOpen = false;
    this._generation = 0;
    this._timers = new Map();
    this._key = null;
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.stopTimers();
    this._generation += 1;
  }

  /** The parts of the page: the top users are left out for a credential restricted to one actor
   * (they would be that actor alone). */
  groups() {
    return Object.keys(GROUPS).filter((g) => !(g === "actor" && this.caps.actorId));
  }

  willUpdate(changed) {
    if (!this.api || !this.filters) return;
    const key = reportQuery(this.filters, this.interval);
    if (key !== this._key) {
      this._key = key;
      this.reload();
    }
  }

  stopTimers() {
    for (const timer of this._timers.values()) clearTimeout(timer);
    this._timers.clear();
  }

  reload() {
    const generation = ++this._generation;
    this.stopTimers();
    this.answers = {};
    this.waiting = {};
    const now = new Date();
    const wrong = problem(this.filters, now);
    this.errors = wrong ? { page: wrong } : {};
    if (wrong) return;
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    const view = { interval: this.interval, tz };
    // Presets are fixed once for every part, so the parts answer for the same instants.
    const parts = [
      ["series", "/v1/reports/activity", activityParams(this.filters, view, now)],
      ...this.groups().map((g) => [g, "/v1/reports/activity", activityParams(this.filters, { ...view, groupBy: g }, now)]),
      ["heatmap", "/v1/reports/heatmap", heatmapParams(this.filters, view, now)],
    ];
    for (const [part, path, params] of parts) this.ask(generation, part, path, params);
  }

  async ask(generation, part, path, params) {
    let answer;
    try {
      answer = await this.api.get(path, params);
    } catch (err) {
      if (generation === this._generation) this.errors = { ...this.errors, [part]: err.message };
      return;
    }
    if (generation !== this._generation) return;
    this.answers = { ...this.answers, [part]: answer };
    const { [part]: _, ...others } = this.waiting;
    if (answer.complete === false) {
      const delay = retryDelay(answer);
      this.waiting = { ...others, [part]: delay / 1000 };
      this._timers.set(part, setTimeout(() => {
        this._timers.delete(part);
        if (generation === this._generation) this.ask(generation, part, path, params);
      }, delay));
    } else {
      this.waiting = others;
    }
    if (part === "series") this.querySelector("al-filter-bar")?.loadCatalogue();
  }

  /** The share bars' widths, through the CSSOM: a style attribute (which Lit's styleMap writes on
   * the first render) is inline style, which the CSP (`default-src 'self'`) refuses. */
  updated() {
    for (const bar of this.querySelectorAll(".share-bar[data-share]")) bar.style.width = `${bar.dataset.share}%`;
  }

  follow(e) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    this.nav(new URL(e.currentTarget.href).search);
  }

  activityHref(filters) {
    const qs = toQuery(filters);
    return qs ? `?${qs}` : "?";
  }

  status(part) {
    if (this.errors[part]) return html`<p class="error" role="alert">${this.errors[part]}</p>`;
    if (part in this.waiting) {
      return html`<p class="computing" role="status">Still being computed: the numbers below are the part counted so far;
        asking again in ${this.waiting[part]} s.</p>`;
    }
    if (!this.answers[part]) return html`<p class="muted" role="status">Loading…</p>`;
    return nothing;
  }

  renderRange() {
    const r = this.answers.series;
    if (!r) return nothing;
    const dated = this.filters.range !== "";
    return html`<p class="report-range"><strong>${r.total} events</strong> from ${time(r.from)} to ${time(r.to)}
      <span class="muted">(times in ${timeZone()}; ${dated ? "the view's dates" : "no date filter: the last 30 days"})</span></p>`;
  }

  renderSeries() {
    const r = this.answers.series;
    const noun = INTERVAL_NOUN[this.interval];
    const tick = (i) => {
      const d = new Date(r.series[i].start);
      if (this.interval !== "hour" || i === 0 || (d.getHours() === 0 && d.getMinutes() === 0)) return SHORT_DAY.format(d);
      return SHORT_HOUR.format(d);
    };
    const describe = (i) => intervalLabel(r.series[i].start, this.interval);
    const pick = (i) => this.nav(this.activityHref(intervalFilters(this.filters, r, i)));
    return html`<section class="report-series" aria-labelledby="r-series">
      <div class="section-head">
        <h2 id="r-series">Events per ${noun}</h2>
        <div class="field inline"><label for="r-interval">Interval</label>
          <select id="r-interval" @change=${(e) => this.nav(reportQuery(this.filters, e.target.value))}>
            ${Object.entries(INTERVALS).map(([value, label]) => html`<option value=${value} ?selected=${this.interval === value}>${label}</option>`)}
          </select></div>
      </div>
      ${this.status("series")}
      ${r ? html`
        <al-bar-chart .series=${r.series} .tick=${tick} .describe=${describe} .pick=${pick}
          .label=${`Bar chart: ${r.total} events per ${noun}, ${r.series.length} bars; the table below lists them`}></al-bar-chart>
        <details class="series-table" ?open=${this.tableOpen} @toggle=${(e) => { this.tableOpen = e.target.open; }}>
          <summary>Events per ${noun} as a table</summary>
          ${this.tableOpen ? html`<table>
            <caption>Events per ${noun}, times in ${timeZone()}; each links to its events in Activity</caption>
            <thead><tr><th scope="col">${INTERVALS[this.interval]} starting</th><th scope="col">Events</th></tr></thead>
            <tbody>${r.series.map((entry, i) => html`<tr>
              <td><a href=${this.activityHref(intervalFilters(this.filters, r, i))} @click=${(e) => this.follow(e)}
                title=${utcTitle(entry.start)}>${describe(i)}</a></td>
              <td>${entry.count}</td></tr>`)}</tbody>
          </table>` : nothing}
        </details>` : nothing}
    </section>`;
  }

  renderTop(group) {
    const r = this.answers[group];
    const heading = GROUPS[group];
    const max = r && r.top.length ? Math.max(...r.top.map((t) => t.count)) : 0;
    return html`<section class="report-top" aria-labelledby="r-${group}">
      <h2 id="r-${group}">${heading}</h2>
      ${this.status(group)}
      ${r && !r.top.length ? html`<p class="muted">No events in this view.</p>` : nothing}
      ${r && r.top.length ? html`<table class="top">
        <caption>${heading} by events${r.distinct !== null && r.distinct !== undefined ? `, of ${r.distinct} ${NOUN[group]}` : ""}; each links to its events in Activity</caption>
        <thead><tr><th scope="col">${COLUMN[group]}</th><th scope="col">Events</th><th scope="col"><span class="sr-only">Share</span></th></tr></thead>
        <tbody>${r.top.map((entry) => {
          const next = topFilters(this.filters, group, entry);
          const label = topLabel(group, entry);
          return html`<tr>
            <td>${next ? html`<a href=${this.activityHref(next)} @click=${(e) => this.follow(e)} title=${entry.key}>${label}</a>` : label}</td>
            <td>${entry.count}</td>
            <td class="share"><span class="share-bar" data-share=${Math.round((100 * entry.count) / max)}></span></td>
          </tr>`;
        })}</tbody>
      </table>` : nothing}
    </section>`;
  }

  renderHeatmap() {
    const r = this.answers.heatmap;
    const max = r ? Math.max(0, ...r.cells.flat()) : 0;
    return html`<section class="report-heatmap" aria-labelledby="r-heatmap">
      <h2 id="r-heatmap">Weekday and hour</h2>
      ${this.status("heatmap")}
      ${r ? html`<div class="heatmap-wrap"><table class="heatmap">
        <caption>Events per weekday (rows) and hour of the day (columns), in ${timeZone()}; ${r.total} events, busiest ${max}</caption>
        <thead><tr><th scope="col">Day</th>${HOURS.map((h) => html`<th scope="col"><abbr title=${`${h}:00 to ${h}:59`}>${h}</abbr></th>`)}</tr></thead>
        <tbody>${r.cells.map((row, d) => html`<tr><th scope="row"><abbr title=${WEEKDAYS[d]}>${WEEKDAYS[d].slice(0, 3)}</abbr></th>
          ${row.map((count) => html`<td class="h${heatLevel(count, max)}">${count}</td>`)}</tr>`)}</tbody>
      </table></div>` : nothing}
    </section>`;
  }

  render() {
    return html`
      <div class="page-head">
        <h1>Reports</h1>
        <div class="actions"><a href=${this.activityHref(this.filters)} @click=${(e) => this.follow(e)}>Show these events in Activity</a></div>
      </div>
      <al-filter-bar .api=${this.api} .caps=${this.caps} .filters=${this.filters}
        .applyFilters=${(next) => this.nav(reportQuery(next, this.interval))}></al-filter-bar>
      ${this.errors.page ? html`<p class="error" role="alert">${this.errors.page}</p>` : nothing}
      ${this.errors.page ? nothing : html`
        ${this.renderRange()}
        ${this.renderSeries()}
        <div class="report-tops">${this.groups().map((g) => this.renderTop(g))}</div>
        ${this.renderHeatmap()}`}`;
  }
}
customElements.define("al-reports", AlReports);
