// Long-run check of the web playground (a measurement, it never fails): serves dist/ (build it
// first: `make build-web`), plays the default lesson in headless Chromium for MINUTES (default
// 60) at SPEED× (default 1), and every minute measures a 5-second window: frame intervals
// (p50/p95), the main thread's busy time per frame, the JS heap, DOM nodes and how far the
// simulation got. Prints one JSON line per sample, then a summary comparing the first and last
// samples. `make soak-web` runs it.
import { openSite } from './site.mjs';

const MINUTES = Number(process.env.MINUTES ?? 60);
const SPEED = String(process.env.SPEED ?? 1);
const site = await openSite();
const page = await site.browser.newPage({ viewport: { width: 1280, height: 720 } });
const errors = [];
page.on('pageerror', e => errors.push(String(e)));
await page.goto(site.url);
await page.locator('.clock').waitFor();
await page.locator('select[aria-label="Simulation speed"]').selectOption(SPEED);
const cdp = await page.context().newCDPSession(page);
await cdp.send('Performance.enable');
const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map(m => [m.name, m.value]));
const started = Date.now();
const samples = [];
for (let minute = 0; minute <= MINUTES; minute++) {
  const wait = started + minute * 60_000 - Date.now();
  if (wait > 0) await page.waitForTimeout(wait);
  await cdp.send('HeapProfiler.collectGarbage');
  const before = await metrics();
  const m = await page.evaluate(() => new Promise(resolve => {
    const frames = [];
    const t0 = performance.now();
    let last = t0;
    function frame(t) {
      frames.push(t - last);
      last = t;
      if (t - t0 < 5000) requestAnimationFrame(frame);
      else {
        frames.sort((a, b) => a - b);
        const q = p => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))];
        resolve({ frames: frames.length, p50_ms: q(0.5), p95_ms: q(0.95),
          sim_s: Number(document.querySelector('.clock').dataset.nowMs) / 1000,
          dom_nodes: document.getElementsByTagName('*').length,
          behind: [...document.querySelectorAll('.busy')].some(e => e.textContent.includes('slower')) });
      }
    }
    requestAnimationFrame(frame);
  }));
  const after = await metrics();
  const sample = {
    minute,
    ...m,
    main_thread_ms_per_frame: (after.TaskDuration - before.TaskDuration) * 1000 / m.frames,
    js_heap_mb: after.JSHeapUsedSize / 1e6,
  };
  for (const k of ['p50_ms', 'p95_ms', 'sim_s', 'main_thread_ms_per_frame', 'js_heap_mb']) sample[k] = Math.round(sample[k] * 100) / 100;
  samples.push(sample);
  console.log(JSON.stringify(sample));
}
await site.close();
const first = samples[1] ?? samples[0], last = samples[samples.length - 1];
console.log(JSON.stringify({ web_soak: { minutes: MINUTES, speed: Number(SPEED), page_errors: errors,
  first_minute: first, last_minute: last,
  max_p95_ms: Math.max(...samples.map(s => s.p95_ms)),
  max_js_heap_mb: Math.max(...samples.map(s => s.js_heap_mb)) } }, null, 2));
