// Frame-time benchmark for the web playground (not a test: it measures, it never fails).
// Serves dist/ (build it first: `make build-web`), opens a lesson in headless Chromium at each
// speed, and reports frame times (p50/p95 of requestAnimationFrame intervals), messages drawn
// in flight, and simulated seconds per wall second. `make bench-web` runs it.
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const ROOT = new URL('../', import.meta.url).pathname;
const PORT = 8900 + Math.floor(Math.random() * 90);
const server = spawn('python3', ['-m', 'http.server', String(PORT), '--bind', '127.0.0.1', '--directory', `${ROOT}dist`], { stdio: 'ignore' });
await new Promise(r => setTimeout(r, 700));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const results = [];
for (const speed of [1, 5, 20, 100]) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await page.goto(`http://127.0.0.1:${PORT}/`);
  await page.locator('.clock').waitFor();
  await page.locator('select[aria-label="Simulation speed"]').selectOption(String(speed));
  await page.waitForTimeout(1500);
  const m = await page.evaluate(() => new Promise(resolve => {
    const frames = [];
    let dots = 0, samples = 0, maxDots = 0;
    const sim0 = Number(document.querySelector('.clock').dataset.nowMs);
    const t0 = performance.now();
    let last = t0;
    function frame(t) {
      frames.push(t - last);
      last = t;
      const n = Number(document.querySelector('.dots')?.dataset.count ?? 0);
      dots += n; samples++; maxDots = Math.max(maxDots, n);
      if (t - t0 < 8000) requestAnimationFrame(frame);
      else {
        const sim1 = Number(document.querySelector('.clock').dataset.nowMs);
        frames.sort((a, b) => a - b);
        const q = p => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))];
        resolve({ frames: frames.length, p50_ms: q(0.5), p95_ms: q(0.95), mean_dots: dots / samples, max_dots: maxDots,
          sim_s_per_wall_s: (sim1 - sim0) / (t - t0) });
      }
    }
    requestAnimationFrame(frame);
  }));
  results.push({ speed, ...Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v * 100) / 100])) });
  await page.close();
}
await browser.close();
server.kill();
console.log(JSON.stringify({ web_frames: results }, null, 2));
