import { html, render } from "lit";
render(html`<p>feed</p>`, document.body);
