// Frame-time benchmark for the web playground (not a test: it measures, it never fails).
// Serves dist/ (build it first: `make build-web`), opens a lesson in headless Chromium at each
// speed, and reports frame times (p50/p95 of requestAnimationFrame intervals), messages drawn
// in flight, the main thread's busy time per frame, and simulated seconds per wall second. `make bench-web` runs it.
import { readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { ROOT, openSite } from './site.mjs';

const site = await openSite();
const results = [];
// The default lesson at each speed, then the same lesson with a 5× busier producer at 1×: about
// 500 messages in flight with little simulation work per frame, so it measures the drawing.
const lesson = JSON.parse(readFileSync(`${ROOT}core/lessons/replication-and-isr.json`, 'utf8'));
const busy = { ...lesson, producers: lesson.producers.map(p => ({ ...p, rate_per_sec: p.rate_per_sec * 5 })) };
const share = scenario => 'v1.' + deflateRawSync(Buffer.from(JSON.stringify(scenario))).toString('base64url');
const cases = [1, 5, 20, 100].map(speed => ({ case: 'default lesson', speed, fragment: '' }))
  .concat([{ case: 'producer 5x busier', speed: 1, fragment: `#s=${share(busy)}` }]);
for (const { case: name, speed, fragment } of cases) {
  const page = await site.browser.newPage({ viewport: { width: 1280, height: 720 } });
  await page.goto(site.url + fragment);
  await page.locator('.clock').waitFor();
  await page.locator('select[aria-label="Simulation speed"]').selectOption(String(speed));
  await page.waitForTimeout(1500);
  // The main thread's busy time (script, style, layout, paint) per frame, from Chromium's own
  // counters: a frame interval is a multiple of the display's 16.7 ms, this is the work in it.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const busy = async () => (await cdp.send('Performance.getMetrics')).metrics.find(m => m.name === 'TaskDuration').value;
  const busy0 = await busy();
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
  m.main_thread_ms_per_frame = (await busy() - busy0) * 1000 / m.frames;
  results.push({ case: name, speed, ...Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v * 100) / 100])) });
  await page.close();
}
await site.close();
console.log(JSON.stringify({ web_frames: results }, null, 2));
