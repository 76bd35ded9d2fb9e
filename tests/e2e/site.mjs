// What the end-to-end specs share: dist/ served statically on a local port, Debian's Chromium,
// and small helpers that read the page. Not a spec itself (`node --test` runs *.test.mjs).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { chromium } from 'playwright-core';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const SHOTS = `${ROOT}target/e2e`;

/** Serves dist/ and launches Chromium; `close()` ends both. */
export async function startSite() {
  mkdirSync(SHOTS, { recursive: true });
  const port = 8400 + Math.floor(Math.random() * 500);
  const base = `http://127.0.0.1:${port}/`;
  const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', `${ROOT}dist`], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try { if ((await fetch(base)).ok) break; } catch { /* not up yet */ }
    await new Promise(r => setTimeout(r, 100));
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  /** A page with its console errors collected in `page.errors`. */
  async function open(path = '', viewport = { width: 1280, height: 720 }, options = {}) {
    const page = await browser.newPage({ viewport, ...options });
    page.errors = [];
    page.on('pageerror', e => page.errors.push(String(e)));
    page.on('console', m => { if (m.type() === 'error') page.errors.push(m.text()); });
    await page.goto(base + path);
    await page.locator('.clock').waitFor();
    return page;
  }
  return { base, browser, open, close: async () => { await browser?.close(); server?.kill(); } };
}

export const nowMs = page => page.locator('.clock').getAttribute('data-now-ms').then(Number);
export const shot = (page, name, fullPage = true) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage });
export const setSpeed = (page, speed) => page.locator('select[aria-label="Simulation speed"]').selectOption(String(speed));

/** Waits until the page has run (or replayed) to at least `ms` of simulated time. */
export async function untilSim(page, ms, timeout = 60_000) {
  await page.waitForFunction(ms => Number(document.querySelector('.clock')?.dataset.nowMs) >= ms, ms, { timeout });
}

/** A share string for a scenario, as kplay-core makes them: v1. + base64url(raw deflate(JSON)). */
export function shareString(scenario) {
  return 'v1.' + deflateRawSync(Buffer.from(JSON.stringify(scenario))).toString('base64url');
}
