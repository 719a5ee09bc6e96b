import { html, render } from "lit";
render(html`<p>Activity Log console</p>`, document.getElementById("app"));
