// Opens one accept link in headless Chromium (Debian's, never a downloaded
// one), with JavaScript off, screenshots it at desktop and phone width,
// optionally clicks Accept or Decline, and prints what it saw as JSON.
//
// Usage: node drive.mjs '{"url": "...", "click": "accept"|"decline"|null, "name": "...", "dir": "..."}'
import { chromium } from "playwright-core";

const spec = JSON.parse(process.argv[2]);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const viewports = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const out = {};
try {
  for (const [label, viewport] of Object.entries(viewports)) {
    const context = await browser.newContext({ viewport, javaScriptEnabled: false });
    const page = await context.newPage();
    const response = await page.goto(spec.url);
    await page.screenshot({ path: `${spec.dir}/${spec.name}-${label}.png`, fullPage: true });
    if (label === "desktop") {
      out.status = response.status();
      out.lang = await page.getAttribute("html", "lang");
      out.text = await page.innerText("body");
      out.headers = response.headers();
    }
    await context.close();
  }
  if (spec.click) {
    const context = await browser.newContext({ viewport: viewports.desktop, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(spec.url);
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.click(`button[value="${spec.click}"]`),
    ]);
    out.finalUrl = page.url();
    out.finalStatus = response ? response.status() : null;
    out.finalText = await page.innerText("body");
    await page.screenshot({ path: `${spec.dir}/${spec.name}-answered-desktop.png`, fullPage: true });
    await page.setViewportSize(viewports.phone);
    await page.screenshot({ path: `${spec.dir}/${spec.name}-answered-phone.png`, fullPage: true });
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
