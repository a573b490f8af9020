// Debian's Chromium: Playwright drives it as is, and never downloads a browser of its own.
export const CHROMIUM = process.env.PAYGRAPH_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
