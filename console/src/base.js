import { LitElement } from "lit";

/** A Lit element rendered into its own light DOM: the page's stylesheet applies, and labels,
 * headings and landmarks are in one document (or in the embed's one shadow root). */
export class LightElement extends LitElement {
  createRenderRoot() {
    return this;
  }
}

/** Reads a `?...` href into URLSearchParams (for in-app navigation). */
export const queryOf = (href) => new URL(href, "http://x/").searchParams;
