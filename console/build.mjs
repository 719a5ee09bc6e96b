// `npm run build`: bundles the console into dist/ (index.html, embed.html, app.js, embed.js, app.css).
// Same-origin files only: no CDN, no inline script (the CSP is `default-src 'self'`).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, renameSync, rmSync } from "node:fs";

const out = "dist";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { app: "src/app.js", embed: "src/embed.js", "app.css": "src/app.css" },
  outdir: out,
  entryNames: "[name]",
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  legalComments: "none",
  loader: { ".css": "css" },
  logLevel: "warning",
});
// The "app.css" entry above is written as app.css.css: give it its plain name.
renameSync(`${out}/app.css.css`, `${out}/app.css`);
for (const page of ["index.html", "embed.html"]) copyFileSync(`src/${page}`, `${out}/${page}`);
console.log(`console built into ${out}/`);
