// `npm run build`: bundles the console into dist/ (index.html, embed.html, app.js, uplot.js, embed.js,
// app.css, favicon.svg, sw.js).
// Same-origin files only: no CDN, no inline script or style (the CSP is `default-src 'self'`).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const out = "dist";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const common = { bundle: true, minify: true, target: ["es2022"], legalComments: "none", logLevel: "warning" };
// The console's script: an ES module; uPlot (the Reports page's charts) is imported on demand, so it
// is a file of its own (uplot.js) that only the Reports page loads.
await build({ ...common, entryPoints: { app: "src/app.js" }, outdir: out, format: "esm", splitting: true, chunkNames: "[name]" });
// The embed: a classic script (an IIFE), so another site can load it with a plain <script src>,
// which needs no CORS (a module script does); it carries the stylesheet as text for its shadow root.
await build({ ...common, entryPoints: { embed: "src/embed.js" }, outdir: out, format: "iife", loader: { ".css": "text" } });
// The stylesheet of the console's pages: app.css (the embed's too) and reports.css (with uPlot's
// rules from node_modules), as one file.
await build({ ...common, entryPoints: ["src/console.css"], outfile: `${out}/app.css` });
for (const page of ["index.html", "embed.html", "favicon.svg", "sw.js"]) copyFileSync(`src/${page}`, `${out}/${page}`);
console.log(`console built into ${out}/`);
