// uPlot as the file dist/uplot.js: barchart.js imports it on demand (see build.mjs).
export { default } from "uplot";
