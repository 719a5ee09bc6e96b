// What the console offers a credential: learnt from the routes' answers (403: not for it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { capabilities } from "../src/session.js";

class Refused extends Error {
  constructor(status) { super(`status ${status}`); this.status = status; }
}

/** A fake Api: `answers` maps "METHOD path" to a value or an HTTP status to throw. */
function fakeApi(credential, answers) {
  const asked = [];
  const answer = (method, path) => {
    asked.push(`${method} ${path}`);
    const a = answers[`${method} ${path}`] ?? 403;
    return typeof a === "number" ? Promise.reject(new Refused(a)) : Promise.resolve(a);
  };
  return {
    credential,
    asked,
    get: (path) => answer("GET", path),
    request: (method, path) => answer(method, path),
  };
}

const ok = { events: [], next_cursor: null };

test("an admin key: every page, its own scopes from its entry in the key list", async () => {
  const api = fakeApi("alk_abcdef123", {
    "GET /v1/events": ok, "GET /v1/actions": { actions: [] }, "GET /v1/actors": { actors: [], next_cursor: null },
    "GET /v1/exports": { exports: [], next_cursor: null }, "PUT /v1/settings": 422, "GET /v1/alerts": { alerts: [] },
    "GET /v1/api-keys": { api_keys: [{ prefix: "alk_abc", scopes: ["events:read", "keys:manage"], actor_id: null }], next_cursor: null },
  });
  const caps = await capabilities(api);
  assert.deepEqual(caps, { events: true, catalogue: true, exports: true, alerts: true, keys: true, logging: true, actorId: null,
    scopes: ["events:read", "keys:manage"], viewerToken: false });
});

test("a read-only key sees Activity only; the settings probe's 403 means no Settings", async () => {
  const api = fakeApi("alk_x", { "GET /v1/events": ok, "GET /v1/actions": { actions: [] },
    "GET /v1/actors": { actors: [{ id: "a" }, { id: "b" }], next_cursor: null } });
  const caps = await capabilities(api);
  assert.equal(caps.events, true);
  assert.equal(caps.exports || caps.alerts || caps.keys || caps.logging, false);
  assert.equal(caps.actorId, null);
});

test("a credential that sees one actor and cannot list keys is that actor's: My activity", async () => {
  const api = fakeApi("vt_token", { "GET /v1/events": ok, "GET /v1/actions": { actions: [] },
    "GET /v1/actors": { actors: [{ id: "ada" }], next_cursor: null } });
  const caps = await capabilities(api);
  assert.equal(caps.actorId, "ada");
  assert.equal(caps.viewerToken, true);
});

test("the key's own entry says its actor, whatever the catalogue holds", async () => {
  const api = fakeApi("alk_self1", { "GET /v1/events": ok, "GET /v1/actors": { actors: [{ id: "ada" }], next_cursor: null },
    "GET /v1/api-keys": { api_keys: [{ prefix: "alk_oth", scopes: [], actor_id: null },
      { prefix: "alk_sel", scopes: ["events:read:self", "keys:manage"], actor_id: "ada" }], next_cursor: null } });
  assert.equal((await capabilities(api)).actorId, "ada");
  const admin = fakeApi("alk_admin", { "GET /v1/events": ok, "GET /v1/actors": { actors: [{ id: "ada" }], next_cursor: null },
    "GET /v1/api-keys": { api_keys: [{ prefix: "alk_adm", scopes: ["keys:manage"], actor_id: null }], next_cursor: null } });
  assert.equal((await capabilities(admin)).actorId, null, "an admin of a one-actor tenant is not restricted");
});

test("a 401 on any probe is a credential that is not accepted", async () => {
  const api = fakeApi("wrong", { "GET /v1/events": 401, "GET /v1/actions": 401, "GET /v1/actors": 401,
    "GET /v1/exports": 401, "GET /v1/alerts": 401, "GET /v1/api-keys": 401, "PUT /v1/settings": 401 });
  await assert.rejects(capabilities(api), (err) => err.status === 401);
});

test("the feed's first page stands for the events probe", async () => {
  const api = fakeApi("alk_x", {});
  const caps = await capabilities(api, Promise.resolve(ok));
  assert.equal(caps.events, true);
  assert.ok(!api.asked.includes("GET /v1/events"));
});

test("alerts: GET /v1/alerts answering shows Alerts; a 403 (no alerts:manage, or restricted) or a 404 (no route) does not", async () => {
  const base = { "GET /v1/events": ok, "GET /v1/actions": { actions: [] }, "GET /v1/actors": { actors: [], next_cursor: null } };
  assert.equal((await capabilities(fakeApi("alk_a", { ...base, "GET /v1/alerts": { alerts: [] } }))).alerts, true);
  assert.equal((await capabilities(fakeApi("alk_b", { ...base, "GET /v1/alerts": 403 }))).alerts, false);
  assert.equal((await capabilities(fakeApi("alk_c", { ...base, "GET /v1/alerts": 404 }))).alerts, false);
  await assert.rejects(capabilities(fakeApi("alk_d", { ...base, "GET /v1/alerts": 401 })), (err) => err.status === 401);
});
