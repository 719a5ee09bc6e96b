// The embeddable feed: <activitylog-feed token="vt_..." api="https://..."></activitylog-feed>,
// after <script src="https://<console>/console/embed.js"></script> (a classic script).
// Without a token attribute it takes `#token=vt_...` from the page's address (embed.html).
// It renders into its own shadow root with its own copy of the console's styles; links inside the
// feed (an event, a user's activity, a resource's history) change the embedded view only.
import { html, LitElement } from "lit";
import { Api } from "./api.js";
import { parseQuery } from "./filters.js";
import { tokenFromHash } from "./session.js";
import "./feed.js";
import css from "./app.css";

// Where this script came from (read while it runs): the API's origin unless `api` says otherwise.
const SCRIPT_URL = (document.currentScript && document.currentScript.src) || window.location.href;

let sheet = null;
const styles = () => {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
  }
  return sheet;
};

export class ActivityLogFeed extends LitElement {
  static properties = {
    token: { type: String },
    api: { type: String },
    view: { state: true },
    error: { state: true },
  };

  constructor() {
    super();
    this.view = { filters: parseQuery(""), eventId: null };
    this.error = "";
  }

  createRenderRoot() {
    const root = super.createRenderRoot();
    root.adoptedStyleSheets = [styles()];
    return root;
  }

  connectedCallback() {
    super.connectedCallback();
    if (!this.token) {
      // embed.html: the token comes in the fragment, also when the framing page changes it later
      this._fromHash = true;
      this.token = tokenFromHash() || "";
      this._onHash = () => {
        const token = tokenFromHash();
        if (token) {
          this.error = "";
          this.view = { filters: parseQuery(""), eventId: null };
          this.token = token;
        }
      };
      window.addEventListener("hashchange", this._onHash);
    }
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    if (this._onHash) window.removeEventListener("hashchange", this._onHash);
  }

  willUpdate(changed) {
    if (changed.has("token") || changed.has("api")) {
      const base = this.api || new URL(SCRIPT_URL).origin;
      this._api = this.token
        ? new Api(base, this.token, { onUnauthorized: () => { this.error = "This viewer token is not valid any more (it expired or was revoked)."; } })
        : null;
    }
  }

  nav = (qs) => {
    const p = new URLSearchParams(qs);
    this.view = { filters: parseQuery(p), eventId: p.get("event") || null };
  };

  render() {
    if (!this._api) return html`<p class="error" role="alert">No viewer token: open embed.html#token=vt_… or set the token attribute.</p>`;
    return html`<div class="embed">
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ""}
      <al-feed .api=${this._api} .filters=${this.view.filters} .eventId=${this.view.eventId} .nav=${this.nav}
        .heading=${"Activity"}></al-feed></div>`;
  }
}
if (!customElements.get("activitylog-feed")) customElements.define("activitylog-feed", ActivityLogFeed);
