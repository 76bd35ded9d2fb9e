// End-to-end: the cluster diagram as a newcomer sees it at three widths (room, lanes under
// words, text size, reflow), the inspector (a click selects, k kills), faults drawn on the links.
// Run by `make e2e`. Screenshots go to target/e2e/diagram-*.png — look at them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSite, shot, untilSim, nowMs } from './site.mjs';

let site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

const WIDTHS = [
  { name: '1440', viewport: { width: 1440, height: 900 } },
  { name: '1920', viewport: { width: 1920, height: 1080 } },
  { name: 'phone', viewport: { width: 390, height: 844 } },
];

/**
 * One frame's geometry: every moving dot (centre and radius, in CSS px) and every text element
 * of the diagram (its box, and its rendered font size).
 */
function frameGeometry() {
  const flights = document.querySelector('.diagram svg.flights');
  const box = flights.getBoundingClientRect();
  const scale = box.width / flights.viewBox.baseVal.width;
  const dots = [];
  // Dots are circles written as "M{10x-36} {10y}a36 36 …" under scale(0.1); crosses as
  // "M{10x-40} {10y-40}l80 80…".
  for (const path of flights.querySelectorAll('.dots path')) {
    const d = path.getAttribute('d') || '';
    const cross = path.classList.contains('drop');
    for (const m of d.matchAll(/M(-?\d+) (-?\d+)[al]/g)) {
      const [x, y] = [Number(m[1]), Number(m[2])];
      const [cx, cy] = cross ? [(x + 40) / 10, (y + 40) / 10] : [(x + 36) / 10, y / 10];
      dots.push({ x: box.left + cx * scale, y: box.top + cy * scale, r: (cross ? 5.7 : 4.1) * scale });
    }
  }
  const texts = [...document.querySelectorAll('.diagram svg.nodes text')]
    .filter(t => t.textContent.trim() !== '')
    .map(t => {
      const r = t.getBoundingClientRect();
      return { text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
        px: parseFloat(getComputedStyle(t).fontSize) * scale };
    });
  return { dots, texts };
}

/** The dots that cover a word: a dot's circle meeting a text's box. */
function overlaps({ dots, texts }) {
  const hits = [];
  for (const d of dots) {
    for (const t of texts) {
      const nx = Math.max(t.left, Math.min(d.x, t.right));
      const ny = Math.max(t.top, Math.min(d.y, t.bottom));
      if ((nx - d.x) ** 2 + (ny - d.y) ** 2 < d.r * d.r) {
        hits.push(`${t.text} [${[t.left, t.top, t.right, t.bottom].map(Math.round)}] by a dot at ${Math.round(d.x)},${Math.round(d.y)}`);
      }
    }
  }
  return hits;
}

for (const { name, viewport } of WIDTHS) {
  test(`at ${viewport.width}×${viewport.height} no dot covers a word, text is at least 11 px, and the diagram has room`, async () => {
    const page = await site.open('', viewport);
    await untilSim(page, 2500);
    let dotsSeen = 0;
    let frames = 0;
    const covered = [];
    let smallest = Infinity;
    for (let i = 0; i < 30; i++) {
      const g = await page.evaluate(frameGeometry);
      frames++;
      dotsSeen += g.dots.length;
      covered.push(...overlaps(g));
      for (const t of g.texts) smallest = Math.min(smallest, t.px);
      await page.waitForTimeout(70);
    }
    await shot(page, `diagram-${name}`, false);
    assert.ok(dotsSeen > frames * 3, `dots were drawn (${dotsSeen} in ${frames} frames)`);
    assert.deepEqual(covered.slice(0, 10), [], `${covered.length} dot(s) over words`);
    assert.ok(smallest >= 11, `the smallest diagram text is ${smallest} px`);
    // The cards' words fit their cards.
    const spill = await page.evaluate(() => [...document.querySelectorAll('.diagram svg.nodes .node')].flatMap(n => {
      const card = (n.querySelector(':scope > rect.card, :scope > ellipse') || n).getBoundingClientRect();
      return [...n.querySelectorAll('text')].filter(t => {
        const r = t.getBoundingClientRect();
        return r.left < card.left - 1 || r.right > card.right + 1 || r.top < card.top - 1 || r.bottom > card.bottom + 1;
      }).map(t => `${n.dataset.node}: ${t.textContent}`);
    }));
    assert.deepEqual(spill, [], 'no word spills out of its card');
    if (name === 'phone') {
      // Brokers stacked one under another, the page no wider than the screen.
      const boxes = await page.locator('.node.broker').evaluateAll(ns => ns.map(n => n.getBoundingClientRect().toJSON()));
      for (let i = 1; i < boxes.length; i++) {
        assert.ok(Math.abs(boxes[i].left - boxes[0].left) < 1 && boxes[i].top >= boxes[i - 1].bottom, 'brokers are stacked');
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `no sideways scrolling (${overflow}px)`);
    } else {
      // The cluster gets the main stage: at least half of the first screen.
      const share = await page.locator('section.stage').evaluate(s => {
        const r = s.getBoundingClientRect();
        const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
        const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
        return (w * h) / (innerWidth * innerHeight);
      });
      assert.ok(share >= 0.5, `the diagram's section covers ${(share * 100).toFixed(0)}% of the first screen`);
      const boxes = await page.locator('.node.broker').evaluateAll(ns => ns.map(n => n.getBoundingClientRect().toJSON()));
      assert.ok(boxes.every(b => Math.abs(b.top - boxes[0].top) < 1), 'brokers side by side in a row');
    }
    // Clients that have done nothing are not drawn: the admin client, the console producer.
    assert.equal(await page.locator('[data-node="admin"]').count(), 0, 'no admin client');
    assert.equal(await page.locator('[data-node="producer:1"]').count(), 0, 'no console producer before anyone typed');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
}

test('a click selects a broker for the inspector and does not kill it; k kills it, r restarts it', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await untilSim(page, 2000);
  // The card's top corner: the middle of a broker card is its replica chips.
  await page.locator('[data-node="broker:2"]').click({ position: { x: 20, y: 10 } });
  const inspector = page.locator('.inspector');
  await inspector.locator('[data-inspects="broker:2"]').waitFor();
  for (const fact of ['LEO', 'HW', 'start', 'epoch', 'ZooKeeper session', 'Config overrides']) {
    assert.ok((await inspector.innerText()).toLowerCase().includes(fact.toLowerCase()), `the inspector shows ${fact}`);
  }
  const selectedAt = await nowMs(page);
  await untilSim(page, selectedAt + 1500);
  assert.equal(await page.locator('[data-node="broker:2"].dead').count(), 0, 'selecting did not kill it');
  assert.equal(await page.locator('ul.log li', { hasText: 'broker 2 died' }).count(), 0);
  await shot(page, 'inspector-broker', false);
  await page.keyboard.press('k');
  await page.locator('[data-node="broker:2"].dead').waitFor({ timeout: 5_000 });
  await page.locator('ul.log li', { hasText: 'broker 2 died' }).first().waitFor();
  await page.keyboard.press('r');
  await page.waitForFunction(() => !document.querySelector('[data-node="broker:2"].dead'), null, { timeout: 5_000 });
  // A replica chip selects that replica: its log's head and tail, in sync or not.
  await page.locator('[data-replica="orders-0@3"]').click();
  await inspector.locator('[data-inspects="orders-0@3"]').waitFor();
  const text = await inspector.innerText();
  for (const fact of ['in sync', 'log start · LEO · HW', 'Log head']) {
    assert.ok(text.toLowerCase().includes(fact.toLowerCase()), `the replica shows ${fact}`);
  }
  // Tab to a ZooKeeper server and press Enter: it is selected too. Esc closes the inspector.
  await page.locator('[data-node="zk:1"]').focus();
  await page.keyboard.press('Enter');
  await inspector.locator('[data-inspects="zk:1"]').waitFor();
  assert.match(await inspector.innerText(), /zxid/);
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('.inspector').count(), 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('faults are drawn: an isolated broker is cut off, a one-way cut has a direction, a slow link is marked, a paused consumer has a clock', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await untilSim(page, 2000);
  await page.locator('[data-node="broker:3"]').click({ position: { x: 20, y: 10 } });
  await page.keyboard.press('i');
  await page.locator('[data-node="broker:3"].isolated').waitFor({ timeout: 5_000 });
  assert.ok(await page.locator('.faults .cut').count() >= 3, 'its links are drawn cut');
  await page.getByRole('tab', { name: 'Terminal' }).click();
  const input = page.getByRole('textbox', { name: 'Terminal command' });
  await input.fill('heal all links');
  await input.press('Enter');
  await page.waitForFunction(() => !document.querySelector('.faults .cut'));
  await input.fill('cut links broker:2 -> zk:1');
  await input.press('Enter');
  await page.locator('.faults .cut.one-way[data-link="broker:2>zk:1"] .arrow').waitFor();
  await input.fill('slow links broker:1 <-> broker:2 by 200000 us');
  await input.press('Enter');
  await page.locator('.faults .slow').first().waitFor();
  await page.getByRole('tab', { name: 'Actions' }).click();
  await page.getByRole('button', { name: 'Pause 15 s' }).click();
  await page.locator('[data-node="consumer:0"].paused .clock-mark').waitFor({ timeout: 5_000 });
  await shot(page, 'diagram-faults', false);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('paused, a message dot can be selected: its API, ends, size and times', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await untilSim(page, 3000);
  await page.getByRole('button', { name: /Pause/ }).click();
  await page.locator('.dot-hit').first().waitFor();
  // A dot in the open (half of a dot at a card's edge is under the card).
  const at = await page.evaluate(() => {
    for (const c of document.querySelectorAll('.dot-hit')) {
      const r = c.getBoundingClientRect();
      const [x, y] = [r.left + r.width / 2, r.top + r.height / 2];
      if (document.elementFromPoint(x, y) === c) return { x, y };
    }
    return null;
  });
  assert.ok(at, 'a dot is clickable');
  await page.mouse.click(at.x, at.y);
  const inspector = page.locator('.inspector');
  await inspector.locator('[data-inspects^="message:"]').waitFor();
  const text = await inspector.innerText();
  for (const fact of ['from', 'to', 'bytes', 'sent at', 'arrives at']) assert.ok(text.includes(fact), `the message shows ${fact}`);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a console producer is drawn once a record is produced by hand', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await untilSim(page, 1500);
  assert.equal(await page.locator('[data-node="producer:1"]').count(), 0);
  await page.getByRole('tab', { name: 'Actions' }).click();
  await page.locator('.actions fieldset', { hasText: 'Produce a record by hand' }).getByRole('button', { name: 'Send' }).click();
  await page.locator('[data-node="producer:1"]').waitFor({ timeout: 5_000 });
  assert.deepEqual(page.errors, []);
  await page.close();
});

/** The followed record's timeline: each step's kind and text. */
async function followSteps(page) {
  return page.locator('.follow ol.steps-timeline li').evaluateAll(items => items.map(li => ({ kind: li.dataset.kind, text: li.innerText })));
}

test('following a record in the acks lesson: acks=1 acknowledged then lost, acks=all never lost; it survives a scrub back and a share link', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await page.locator('select[aria-label="Choose a lesson"]').selectOption('acks-and-leader-crash');
  await page.locator('.lesson h3', { hasText: 'acks=0, 1 and all' }).waitFor();
  // A record produced by hand at 5 s, before the faults, by the console producer (acks=all).
  await untilSim(page, 5000);
  await page.getByRole('tab', { name: 'Actions' }).click();
  await page.locator('.actions fieldset', { hasText: 'Produce a record by hand' }).getByRole('button', { name: 'Send' }).click();
  await page.locator('.follow ol.steps-timeline li[data-kind="Acked"]').waitFor({ timeout: 10_000 });
  await page.locator('[data-node="producer:3"]').click();
  assert.match(await page.locator('.inspector').innerText(), /acks\s+all/);
  // The lesson cuts the leader off at 10 s and kills it at 11 s; by 60 s it is over.
  await page.getByRole('button', { name: '+1 min' }).click();
  await untilSim(page, 60_000);
  await page.waitForFunction(() => !document.querySelector('.busy'));
  let steps = await followSteps(page);
  assert.ok(steps.some(s => s.kind === 'Acked' && /acks=all/.test(s.text)), `acknowledged with acks=all: ${JSON.stringify(steps)}`);
  assert.ok(steps.some(s => s.kind === 'Copy'), 'a follower copied it');
  assert.ok(steps.some(s => s.kind === 'Committed'), 'the HW passed it');
  assert.ok(!steps.some(s => s.kind === 'Lost'), `never lost: ${JSON.stringify(steps)}`);
  assert.equal(await page.locator('.follow [data-status]').getAttribute('data-status'), 'ok');

  // An acks=1 record the outcome lists as lost: followed, it is acknowledged, then lost.
  await page.getByRole('button', { name: /Pause/ }).click();
  await page.locator('ul.lost li[data-acks="1"] button.follow-lost').first().click();
  await page.waitForFunction(() => !document.querySelector('.busy'), null, { timeout: 60_000 });
  await page.locator('.follow ol.steps-timeline li[data-kind="Lost"]').first().waitFor({ timeout: 60_000 });
  steps = await followSteps(page);
  const kinds = steps.map(s => s.kind);
  assert.ok(kinds.includes('Append') && kinds.includes('Acked'), `appended and acknowledged: ${JSON.stringify(steps)}`);
  assert.ok(steps.some(s => s.kind === 'Acked' && /acks=1/.test(s.text)), 'acknowledged with acks=1');
  assert.ok(kinds.indexOf('Acked') < kinds.indexOf('Lost'), 'acknowledged, then lost');
  assert.equal(await page.locator('.follow [data-status]').getAttribute('data-status'), 'lost');
  const name = await page.locator('.follow h3 .record-name').innerText();
  await shot(page, 'follow-lost', false);

  // A scrub back replays the run: the record is still followed, its steps up to that moment.
  const appendAt = steps.find(s => s.kind === 'Append').text;
  await page.locator('.follow ol.steps-timeline li[data-kind="Append"] button.time').click();
  await page.waitForFunction(() => !document.querySelector('.busy'), null, { timeout: 60_000 });
  await page.locator('.follow ol.steps-timeline li[data-kind="Append"]').waitFor();
  assert.equal(await page.locator('.follow h3 .record-name').innerText(), name, 'the same record after a scrub back');
  assert.equal(await page.locator('.follow ol.steps-timeline li[data-kind="Append"]').innerText(), appendAt);
  assert.equal(await page.locator('.follow ol.steps-timeline li[data-kind="Lost"]').count(), 0, 'not lost yet at that moment');

  // A share link carries the followed record.
  await page.getByRole('button', { name: 'Share' }).click();
  const hash = await page.evaluate(() => location.hash);
  assert.match(hash, /&f=orders\/0\/\d+\/\d+$/);
  const copy = await site.open(hash, { width: 1440, height: 900 });
  await copy.waitForFunction(() => !document.querySelector('.busy'), null, { timeout: 60_000 });
  await copy.locator('.follow ol.steps-timeline li[data-kind="Append"]').waitFor({ timeout: 30_000 });
  assert.equal(await copy.locator('.follow h3 .record-name').innerText(), name, 'the link follows the same record');
  assert.deepEqual([...page.errors, ...copy.errors], []);
  await page.close();
  await copy.close();
});

test('a share link with a malformed followed record says so and opens the run', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await page.getByRole('button', { name: 'Share' }).click();
  const hash = await page.evaluate(() => location.hash);
  const bad = await site.open(`${hash}&f=orders/zero/<b>/1`, { width: 1440, height: 900 });
  const banner = bad.locator('.banner.error');
  await banner.waitFor();
  assert.match(await banner.innerText(), /record this link follows could not be read: .*partition 'zero' is not a number/);
  assert.equal(await bad.locator('.follow').count(), 0);
  assert.equal(await bad.locator('.node.broker').count(), 3, 'the run opens');
  assert.deepEqual([...page.errors, ...bad.errors], []);
  await page.close();
  await bad.close();
});
