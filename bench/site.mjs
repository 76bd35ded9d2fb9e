// What the web benchmarks share: dist/ served on a local port (build it first: `make build-web`)
// and Debian's Chromium, headless.
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

export const ROOT = new URL('../', import.meta.url).pathname;

export async function openSite() {
  const port = 8900 + Math.floor(Math.random() * 90);
  const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', `${ROOT}dist`], { stdio: 'ignore' });
  await new Promise(r => setTimeout(r, 700));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    browser,
    close: async () => { await browser.close(); server.kill(); },
  };
}
