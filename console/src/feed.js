// The feed: the events table (newest first), "Load more" through next_cursor, the matching count,
// and the event detail. Used by the console's Activity page and by the embed (embed.html, embed.js).
import { html, nothing } from "lit";
import { LightElement } from "./base.js";
import { apiParams, problem, toQuery } from "./filters.js";
import { actorLabel, localTime, targetLabel, timeZone, utcTitle } from "./format.js";
import "./detail.js";

export const PAGE_SIZE = 200;

export class AlFeed extends LightElement {
  static properties = {
    api: { attribute: false },
    filters: { attribute: false },
    eventId: { attribute: false },
    nav: { attribute: false }, // (query string) => void: follows an in-app link
    heading: { attribute: false },
    events: { state: true },
    nextCursor: { state: true },
    loading: { state: true },
    error: { state: true },
    count: { state: true },
    countError: { state: true },
    detail: { state: true },
    detailError: { state: true },
  };

  constructor() {
    super();
    this.events = [];
    this.nextCursor = null;
    this.loading = false;
    this.error = "";
    this.count = null;
    this.countError = "";
    this.detail = null;
    this.detailError = "";
    this.heading = "Activity";
    this._generation = 0;
    this._loadedKey = null;
    this._detailFor = null;
  }

  willUpdate(changed) {
    if (!this.api || !this.filters) return;
    const key = toQuery(this.filters);
    if (changed.has("filters") || changed.has("api")) {
      if (key !== this._loadedKey || (changed.has("api") && changed.get("api") !== undefined)) {
        this._loadedKey = key;
        this.reload();
      }
    }
    if (changed.has("eventId") || changed.has("events")) this.showDetail();
  }

  reload() {
    const generation = ++this._generation;
    const now = new Date();
    const wrong = problem(this.filters, now);
    this.events = [];
    this.nextCursor = null;
    this.count = null;
    this.error = wrong;
    this.countError = "";
    if (wrong) return;
    this._params = apiParams(this.filters, now);
    // The count after the first page: in local mode the functions answer one at a time, and the
    // table is what a person waits for.
    this.loadPage(generation, null).then(() => {
      if (generation !== this._generation) return;
      this.api.count(this._params).then(
        (c) => { if (generation === this._generation) this.count = c; },
        (err) => { if (generation === this._generation) this.countError = err.message; },
      );
    });
  }

  /** One "page" of the feed: API pages until PAGE_SIZE more events are shown or the list ends (an
   * API page may hold fewer events than asked, even none, while next_cursor is set). */
  async loadPage(generation, cursor) {
    this.loading = true;
    this.error = "";
    let added = 0;
    try {
      for (let round = 0; round < 10; round += 1) {
        const params = [...this._params, ["limit", String(PAGE_SIZE - added)]];
        if (cursor) params.push(["cursor", cursor]);
        const page = !cursor && this.api.prefetched?.key === this._loadedKey
          ? await this.api.takePrefetched()
          : await this.api.get("/v1/events", params);
        if (generation !== this._generation) return;
        this.events = cursor || added ? [...this.events, ...page.events] : page.events;
        this.nextCursor = page.next_cursor;
        added += page.events.length;
        cursor = page.next_cursor;
        if (!cursor || added >= PAGE_SIZE) break;
      }
    } catch (err) {
      if (generation === this._generation) this.error = err.message;
    } finally {
      if (generation === this._generation) this.loading = false;
    }
  }

  loadMore() {
    if (this.nextCursor && !this.loading) this.loadPage(this._generation, this.nextCursor);
  }

  async showDetail() {
    const id = this.eventId;
    if (!id) {
      this.detail = null;
      this.detailError = "";
      this._detailFor = null;
      return;
    }
    const known = this.events.find((e) => e.id === id);
    if (known) {
      this.detail = known;
      this._detailFor = id;
      return;
    }
    if (this._detailFor === id) return;
    this._detailFor = id;
    this.detail = null;
    this.detailError = "";
    try {
      const event = await this.api.get(`/v1/events/${encodeURIComponent(id)}`);
      if (this.eventId === id) this.detail = event;
    } catch (err) {
      if (this.eventId === id) this.detailError = err.status === 404 ? "No such event is visible to this credential." : err.message;
    }
  }

  /** The query string of this view plus `extra` (an event to open, or other filters). */
  href(extra) {
    const p = new URLSearchParams(toQuery(this.filters));
    for (const [k, v] of Object.entries(extra)) {
      if (v === null) p.delete(k);
      else p.set(k, v);
    }
    const qs = p.toString();
    return qs ? `?${qs}` : "?";
  }

  follow(e) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    this.nav(new URL(e.currentTarget.href).search);
  }

  updated(changed) {
    if ((changed.has("events") || changed.has("loading")) && !this.loading && this._params && !this.error) {
      performance.mark("feed-rendered");
      if (this.dataset.state !== "ready") {
        this.dataset.state = "ready";
        this.dispatchEvent(new CustomEvent("feed-ready", { bubbles: true }));
      }
    }
    if (changed.has("detail") && this.detail) {
      const panel = this.querySelector("al-event-detail");
      panel?.updateComplete.then(() => {
        performance.mark("detail-rendered");
        panel.dataset.state = "ready";
        if (this._focusDetail) {
          this._focusDetail = false;
          this.querySelector("#event-detail-heading")?.focus();
        }
      });
    }
  }

  openEvent(e, id) {
    this._focusDetail = true;
    this._returnFocus = id;
    this.follow(e);
  }

  closeDetail() {
    this.nav(this.href({ event: null }));
    const id = this._returnFocus;
    if (id) {
      this.updateComplete.then(() => {
        const link = [...this.querySelectorAll("a.event-link")].find((a) => a.dataset.id === id);
        link?.focus();
      });
    }
  }

  renderCount() {
    if (this.countError) return html`<p class="count error">Count unavailable: ${this.countError}</p>`;
    if (!this.count) return html`<p class="count muted">Counting…</p>`;
    return html`<p class="count">${this.count.count}${this.count.complete ? "" : "+"} events</p>`;
  }

  renderRow(e) {
    const first = (e.targets || [])[0];
    const more = (e.targets || []).length - 1;
    return html`<tr class=${e.id === this.eventId ? "selected" : ""}>
      <td><time datetime=${e.occurred_at} title=${utcTitle(e.occurred_at)}>${localTime(e.occurred_at)}</time></td>
      <td title=${e.actor.id}>${actorLabel(e.actor)}</td>
      <td><a class="event-link" data-id=${e.id} href=${this.href({ event: e.id })}
        @click=${(ev) => this.openEvent(ev, e.id)}>${e.action}</a></td>
      <td>${first ? targetLabel(first) : ""}${more > 0 ? html` <span class="muted">(+${more})</span>` : nothing}</td>
      <td><span class="outcome ${e.outcome}">${e.outcome}</span></td>
    </tr>`;
  }

  render() {
    const showDetail = Boolean(this.eventId);
    return html`
      <div class="feed-head">
        ${this.renderCount()}
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <div class="feed-layout ${showDetail ? "with-detail" : ""}">
        <div class="feed-table">
          <table>
            <caption>${this.heading}: events newest first; times in ${timeZone()} (hover a time for UTC)</caption>
            <thead><tr><th scope="col">Time</th><th scope="col">User</th><th scope="col">Action</th>
              <th scope="col">Resource</th><th scope="col">Outcome</th></tr></thead>
            <tbody>${this.events.map((e) => this.renderRow(e))}</tbody>
          </table>
          ${!this.loading && !this.error && this.events.length === 0
            ? html`<p class="empty">No events match this view.</p>` : nothing}
          ${this.loading ? html`<p class="muted" role="status">Loading…</p>` : nothing}
          ${this.nextCursor && !this.loading
            ? html`<button type="button" class="load-more" @click=${() => this.loadMore()}>Load more</button>` : nothing}
        </div>
        ${showDetail ? html`<al-event-detail .event=${this.detail} .error=${this.detailError}
            .linkFor=${(extra) => this.href(extra)} .follow=${(e) => this.follow(e)}
            .close=${() => this.closeDetail()}></al-event-detail>` : nothing}
      </div>`;
  }
}
customElements.define("al-feed", AlFeed);
