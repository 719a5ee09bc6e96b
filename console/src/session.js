// The credential (an API key in this tab's sessionStorage only, or a viewer token from the URL's
// fragment) and what it may do, learnt from the public API: each page's own route is asked, and a
// 403 means "not for this credential".

const STORE = "activitylog.credential";

/** A viewer token in the fragment (`#token=vt_...`), removed from the address bar once read. */
export function tokenFromHash(win = window) {
  const params = new URLSearchParams(win.location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (!token) return null;
  params.delete("token");
  const rest = params.toString();
  win.history.replaceState(win.history.state, "", win.location.pathname + win.location.search + (rest ? `#${rest}` : ""));
  return token;
}

export function storedCredential() {
  try { return sessionStorage.getItem(STORE); } catch { return null; }
}

export function storeCredential(value) {
  try { sessionStorage.setItem(STORE, value); } catch { /* storage disabled: this page only */ }
}

export function forgetCredential() {
  try { sessionStorage.removeItem(STORE); } catch { /* nothing stored */ }
}

const allowed = (promise) =>
  promise.then(
    () => true,
    (err) => {
      if (err.status === 401) throw err;
      return false;
    },
  );

/** What the credential may use. Throws the API's 401 when the credential is not valid at all.
 * - events: GET /v1/events answers; catalogue: GET /v1/actions answers;
 * - exports: GET /v1/exports answers; keys: GET /v1/api-keys answers; alerts: GET /v1/alerts
 *   answers (a restricted key or a viewer token gets 403 there, as without alerts:manage);
 * - logging: PUT /v1/settings with a body the API must refuse: 422 (body checked, so the scope is
 *   held) or 403 (the scope is checked before the body); nothing is ever written;
 * - actorId: the credential's actor restriction when the API tells it (the key's own entry in
 *   GET /v1/api-keys), or, for a credential that sees a single actor and manages no keys, that actor. */
export async function capabilities(api, feed = null) {
  const keysPage = api.get("/v1/api-keys", { limit: 200 }, { quiet401: true }).catch((err) => {
    if (err.status === 401) throw err;
    return null;
  });
  const logging = api
    .request("PUT", "/v1/settings", { body: { retention_days: -1, logging_enabled: "console-probe" }, quiet401: true })
    .then(
      () => true,
      (err) => {
        if (err.status === 401) throw err;
        return err.status === 422 || err.status === 400;
      },
    );
  const actors = api.get("/v1/actors", { limit: 2 }, { quiet401: true }).catch((err) => {
    if (err.status === 401) throw err;
    return null;
  });
  const [events, catalogue, exportsOk, alertsOk, keys, loggingOk, actorPage] = await Promise.all([
    allowed(feed || api.get("/v1/events", { limit: 1 }, { quiet401: true })),
    allowed(api.get("/v1/actions", undefined, { quiet401: true })),
    allowed(api.get("/v1/exports", { limit: 1 }, { quiet401: true })),
    allowed(api.get("/v1/alerts", undefined, { quiet401: true })),
    keysPage,
    logging,
    actors,
  ]);
  let actorId = null;
  let scopes = null;
  if (keys) {
    const own = keys.api_keys.find((k) => k.prefix && api.credential.startsWith(k.prefix));
    if (own) {
      actorId = own.actor_id || null;
      scopes = own.scopes;
    }
  } else if (actorPage && actorPage.actors.length === 1 && !actorPage.next_cursor) {
    actorId = actorPage.actors[0].id;
  }
  return {
    events,
    catalogue: catalogue && Boolean(actorPage),
    exports: exportsOk,
    alerts: alertsOk,
    keys: Boolean(keys),
    logging: loggingOk,
    actorId,
    scopes,
    viewerToken: api.credential.startsWith("vt_"),
  };
}
