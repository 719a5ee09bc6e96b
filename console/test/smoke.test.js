import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";

test("the build entry points exist", () => {
  for (const f of ["src/app.js", "src/embed.js", "src/app.css", "src/index.html", "src/embed.html"]) {
    assert.ok(existsSync(new URL(`../${f}`, import.meta.url)), f);
  }
});
