// A bar chart of a report's series (uPlot, bundled: no script from another origin). One bar per
// series entry, x by index (intervals of a zone are not all as long: DST days, a first interval
// that starts at `from`), the count on hover, and a click hands the bar's index to `pick`.
// The canvas is for the eye and the mouse; the page lists the same numbers as a table with links.
// uPlot is loaded when a chart is first drawn (its own file, dist/uplot.js): the Activity page,
// whose bytes are measured, does not carry it.
import { html } from "lit";
import { LightElement } from "./base.js";

let loading = null;
const loadUPlot = () => {
  loading ||= import("./uplot.js").then((m) => m.default);
  return loading;
};

const BAR = "#0b5cad";
const AXIS = "#57606a";
const GRID = "#d0d7de";
const HEIGHT = 240;
// Only whole numbers on both axes: x is an entry's index, y a count.
const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8];
const INDEX_STEPS = [1, 2, 3, 4, 6, 7, 12, 14, 24, 28, 48, 56, 96, 168, 336, 720, 1440, 2160, 4320, 8760];

export class AlBarChart extends LightElement {
  static properties = {
    series: { attribute: false }, // [{start, count}]
    tick: { attribute: false }, // (index) => short axis label
    describe: { attribute: false }, // (index) => words for one bar
    pick: { attribute: false }, // (index) => void
    label: { attribute: false }, // the chart's accessible name
    hover: { state: true },
    failed: { state: true },
  };

  constructor() {
    super();
    this.series = [];
    this.hover = null;
    this.failed = "";
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this._resize?.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  updated(changed) {
    if (changed.has("series") || changed.has("tick")) {
      loadUPlot().then((uPlot) => { if (this.isConnected) this.draw(uPlot); }, (err) => { this.failed = err.message; });
    }
  }

  draw(uPlot) {
    const box = this.querySelector(".chart-canvas");
    if (!box) return;
    this.plot?.destroy();
    const n = this.series.length;
    const xs = this.series.map((_, i) => i);
    const ys = this.series.map((e) => e.count);
    const tick = this.tick || ((i) => String(i));
    const whole = (steps) => (u, splits) => splits.map((v) => (Number.isInteger(v) ? steps(v) : ""));
    const opts = {
      width: Math.max(200, box.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { y: false, points: { show: false }, drag: { x: false, y: false, setScale: false } },
      scales: {
        x: { time: false, range: () => [-0.5, Math.max(0.5, n - 0.5)] },
        y: { range: (u, min, max) => [0, Math.max(1, max) * 1.1] },
      },
      axes: [
        { stroke: AXIS, grid: { show: false }, ticks: { stroke: GRID }, incrs: INDEX_STEPS, space: 70,
          values: whole((i) => (i >= 0 && i < n ? tick(i) : "")) },
        { stroke: AXIS, grid: { stroke: GRID, width: 1 }, ticks: { show: false }, incrs: COUNT_STEPS, size: 56,
          values: whole((v) => String(v)) },
      ],
      series: [
        {},
        { label: "Events", fill: BAR, stroke: BAR, width: 0, points: { show: false },
          paths: uPlot.paths.bars({ size: [0.8, 80], gap: 1 }) },
      ],
      hooks: {
        setCursor: [(u) => { this.hover = u.cursor.idx ?? null; }],
      },
    };
    this.plot = new uPlot(opts, [xs, ys], box);
    this.plot.over.addEventListener("click", () => {
      const i = this.plot?.cursor.idx;
      if (i !== null && i !== undefined && i >= 0 && i < n && this.pick) this.pick(i);
    });
    this.plot.over.addEventListener("mouseleave", () => { this.hover = null; });
    if (!this._resize) {
      this._resize = new ResizeObserver(() => {
        const width = Math.max(200, box.clientWidth);
        if (this.plot && Math.abs(this.plot.width - width) > 1) this.plot.setSize({ width, height: HEIGHT });
      });
      this._resize.observe(box);
    }
  }

  render() {
    const i = this.hover;
    const entry = i !== null && this.series[i] ? this.series[i] : null;
    if (this.failed) return html`<p class="error">The chart could not be drawn (${this.failed}); the table below has its numbers.</p>`;
    return html`<div class="chart-canvas" role="img" aria-label=${this.label || "Bar chart"}></div>
      <p class="readout muted">${entry
        ? `${this.describe ? this.describe(i) : i}: ${entry.count} events (click the bar to show them in Activity)`
        : "Point at a bar for its count; click it to show its events in Activity."}</p>`;
  }
}
customElements.define("al-bar-chart", AlBarChart);
