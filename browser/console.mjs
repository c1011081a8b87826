// Walks the admin console in headless Chromium (Debian's, never a
// downloaded one) as a support person would, with JavaScript on, and
// screenshots every page at desktop (1280x800) and phone (390x844) width.
// Prints what it saw as JSON; the Rust test checks it and the server state.
//
// Usage: node console.mjs '{"base": "http://...", "key": "ik_...",
//   "readonlyKey": "ik_...", "tenant": "acme", "tenantName": "Acme Inc",
//   "emails": ["a@x", ...], "find": "a@x", "revoke": "b@x", "dir": "..."}'
import { chromium } from "playwright-core";

const spec = JSON.parse(process.argv[2]);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const desktop = { width: 1280, height: 800 };
const phone = { width: 390, height: 844 };
const out = { steps: [] };

/// Screenshots the page at both widths and notes what it showed.
async function shot(page, name) {
  await page.setViewportSize(desktop);
  await page.screenshot({ path: `${spec.dir}/console-${name}-desktop.png`, fullPage: true });
  await page.setViewportSize(phone);
  await page.screenshot({ path: `${spec.dir}/console-${name}-phone.png`, fullPage: true });
  // Nothing may stick out sideways on a phone but the tables' own scroll.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  await page.setViewportSize(desktop);
  out.steps.push({ name, url: page.url(), title: await page.title(), overflow });
}

async function click(page, role, name) {
  await Promise.all([page.waitForLoadState("load"), page.getByRole(role, { name, exact: true }).first().click()]);
  await page.waitForLoadState("load");
}

try {
  const context = await browser.newContext({ viewport: desktop, timezoneId: "Europe/Berlin" });
  const page = await context.newPage();
  await page.goto(`${spec.base}/admin`);
  await shot(page, "01-sign-in");
  await page.getByLabel("API key").fill("ik_wrong");
  await click(page, "button", "Sign in");
  out.wrongKey = await page.innerText("main");
  await page.getByLabel("API key").fill(spec.key);
  await click(page, "button", "Sign in");
  await shot(page, "02-tenants");
  out.tenantsText = await page.innerText("main");
  out.footer = await page.innerText("footer");
  out.localTime = await page.locator("time").first().innerText().catch(() => null);

  await click(page, "link", spec.tenantName);
  await shot(page, "03-invitations-empty");
  await click(page, "link", "New invitations");
  await page.getByLabel("Addresses").fill(spec.emails.join("\n") + "\nnot-an-address");
  await page.getByLabel("Viewer", { exact: true }).check();
  await page.getByLabel("Message").fill("Welcome to the team!");
  await shot(page, "04-new-invitations-form");
  await click(page, "button", "Send invitations");
  out.created = await page.innerText("main");
  await shot(page, "05-new-invitations-results");

  await page.goto(`${spec.base}/admin/tenants/${spec.tenant}/invitations`);
  await page.getByLabel("Search by address").fill(spec.find);
  await click(page, "button", "Apply");
  out.searchRows = await page.locator("tbody tr").count();
  await shot(page, "06-search");
  await click(page, "link", spec.find);
  out.invitationUrl = page.url();
  out.before = await page.innerText("main");
  await shot(page, "07-invitation");
  await click(page, "link", "Resend");
  await shot(page, "08-confirm-resend");
  await click(page, "button", "Resend invitation");
  out.afterResend = await page.innerText("main");
  // The worker sends the new email within a moment.
  for (let i = 0; i < 40; i++) {
    await page.reload();
    const text = await page.innerText("main");
    if (text !== out.afterResend) { out.afterResend = text; if (i > 0) break; }
    await page.waitForTimeout(250);
  }
  out.afterResendText = await page.innerText("main");
  await shot(page, "09-invitation-resent");

  await page.goto(`${spec.base}/admin/tenants/${spec.tenant}/invitations?email=${encodeURIComponent(spec.revoke)}`);
  await click(page, "link", spec.revoke);
  await click(page, "link", "Revoke");
  await click(page, "button", "Revoke invitation");
  out.afterRevoke = await page.innerText("main");
  await shot(page, "10-invitation-revoked");

  await page.goto(`${spec.base}/admin/tenants/${spec.tenant}`);
  await shot(page, "11-tenant");
  await page.goto(`${spec.base}/admin/tenants/${spec.tenant}/webhooks`);
  await shot(page, "12-webhooks");
  await page.goto(`${spec.base}/admin/keys`);
  await shot(page, "13-keys");

  await click(page, "button", "Sign out");
  out.signedOut = await page.innerText("main");
  await page.goto(`${spec.base}/admin/tenants`);
  out.afterSignOutUrl = page.url();
  await context.close();

  // A key that may only read: no buttons, and a post made anyway is refused.
  const ro = await browser.newContext({ viewport: desktop });
  const roPage = await ro.newPage();
  await roPage.goto(`${spec.base}/admin/sign-in`);
  await roPage.getByLabel("API key").fill(spec.readonlyKey);
  await click(roPage, "button", "Sign in");
  await roPage.goto(out.invitationUrl);
  out.readonlyButtons = await roPage.getByRole("link", { name: /^(Resend|Revoke)$/ }).count();
  await shot(roPage, "14-invitation-read-only");
  const csrf = await roPage.locator('input[name="csrf"]').first().inputValue();
  const posted = await ro.request.post(`${out.invitationUrl}/resend`, {
    form: { csrf }, headers: { origin: spec.base }, maxRedirects: 0,
  });
  out.readonlyPostStatus = posted.status();
  await ro.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
