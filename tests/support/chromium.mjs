// Debian's Chromium under playwright-core, started the one way that works on these machines: no
// browser download, no sandbox (root), and no background connections (the network is closed, and
// Chromium's own requests would otherwise fail noisily at every start). CHROMIUM overrides the path.
import { chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM ?? "/usr/bin/chromium";

export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}
