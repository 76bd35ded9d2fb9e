// End-to-end: KRaft mode on the page. The Config panel's mode switch restarts the scenario with
// a controller quorum drawn where ZooKeeper was; a controller can be inspected and killed, and
// another is elected; a share link carries the mode; a scenario that needs ZooKeeper says why
// it cannot switch. Switching keeps the faults clicked; the metadata log strip; the compare view
// (both modes side by side under one timeline, a fault in both). Run by `make e2e`.
// Screenshots: target/e2e/kraft-1440.png, kraft-phone.png, metadata-strip-1440.png,
// compare-1440.png, compare-phone.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSite, shot, untilSim, nowMs, setSpeed, SHOTS } from './site.mjs';

let site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });

/** Switches the page to `mode` with the Config panel's switch. */
async function switchMode(page, mode) {
  await page.getByRole('tab', { name: 'Config' }).click();
  await page.locator(`button.mode[data-mode="${mode}"]`).click();
}

/** Every controller card's id, Raft role and epoch. */
const controllers = page => page.locator('.node.kraft').evaluateAll(ns => ns.map(n => ({
  node: n.dataset.node, role: n.dataset.role, epoch: Number(n.dataset.epoch),
  active: n.classList.contains('active'),
})));

/** The diagram's words: none under 11 px, none spilling out of its card. */
const textProblems = page => page.evaluate(() => {
  const problems = [];
  const svg = document.querySelector('.diagram svg.nodes');
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  for (const n of svg.querySelectorAll('.node')) {
    const card = (n.querySelector(':scope > rect.card, :scope > ellipse') || n).getBoundingClientRect();
    for (const t of n.querySelectorAll('text')) {
      if (!t.textContent.trim()) continue;
      const r = t.getBoundingClientRect();
      const px = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (px < 11) problems.push(`${n.dataset.node}: "${t.textContent}" is ${px} px`);
      if (r.left < card.left - 1 || r.right > card.right + 1 || r.top < card.top - 1 || r.bottom > card.bottom + 1) {
        problems.push(`${n.dataset.node}: "${t.textContent}" spills out of its card`);
      }
    }
  }
  return problems;
});

test('KRaft mode at 1440×900: three controllers, one leader, brokers unfenced; killing the leader elects another', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await untilSim(page, 500);
  await switchMode(page, 'kraft');
  await page.locator('button.mode[data-mode="kraft"][aria-pressed="true"]').waitFor();
  assert.equal(await page.locator('.node.kraft').count(), 3, 'three controller cards');
  assert.equal(await page.locator('[data-node^="zk:"]').count(), 0, 'no ZooKeeper servers');
  await setSpeed(page, 5);
  await untilSim(page, 6000);
  const quorum = await controllers(page);
  assert.deepEqual(quorum.map(c => c.node), ['controller:3000', 'controller:3001', 'controller:3002']);
  const leaders = quorum.filter(c => c.role === 'leader');
  assert.equal(leaders.length, 1, `one leader: ${JSON.stringify(quorum)}`);
  assert.ok(leaders[0].active, 'the leader is the active controller');
  assert.equal(await page.locator('.node.broker').count(), 3);
  assert.equal(await page.locator('.node.broker.fenced').count(), 0, 'no broker is fenced');
  for (const text of await page.locator('.node.broker .role').allTextContents()) {
    assert.match(text, /^metadata \d+$/, `each broker shows its applied metadata offset: ${text}`);
  }
  assert.deepEqual(await textProblems(page), []);
  // Dots run to and from the controllers (Raft fetches, broker heartbeats).
  await page.waitForFunction(() => Number(document.querySelector('.dots')?.dataset.count) > 0);
  await shot(page, 'kraft-1440', false);

  // Select the leader: the inspector shows its role and epoch; k kills it.
  await setSpeed(page, 1);
  const leader = leaders[0];
  await page.locator(`[data-node="${leader.node}"]`).click();
  const inspector = page.locator('.inspector');
  await inspector.locator(`[data-inspects="${leader.node}"]`).waitFor();
  const facts = await inspector.innerText();
  for (const fact of ['Raft role', 'leader', 'epoch', 'metadata log end offset', 'high watermark', 'unfenced brokers']) {
    assert.ok(facts.includes(fact), `the inspector shows ${fact}: ${facts}`);
  }
  await page.keyboard.press('k');
  await page.locator(`[data-node="${leader.node}"].dead`).waitFor({ timeout: 5_000 });
  await page.locator('button.fault', { hasText: 'Restart' }).first().waitFor();
  await setSpeed(page, 5);
  await page.waitForFunction(epoch => [...document.querySelectorAll('.node.kraft')]
    .some(n => n.dataset.role === 'leader' && Number(n.dataset.epoch) > epoch), leader.epoch, { timeout: 20_000 });
  const after = await controllers(page);
  const next = after.find(c => c.role === 'leader');
  assert.notEqual(next.node, leader.node, 'another controller leads');
  // r restarts the selected (dead) controller.
  await page.keyboard.press('r');
  await page.waitForFunction(node => !document.querySelector(`[data-node="${node}"].dead`), leader.node, { timeout: 5_000 });
  await shot(page, 'kraft-1440-after-kill', false);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a share link made in KRaft mode reopens in KRaft mode', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await switchMode(page, 'kraft');
  await page.locator('.node.kraft').first().waitFor();
  await untilSim(page, 1500);
  await page.getByRole('button', { name: /Pause/ }).click();
  await page.getByRole('button', { name: 'Share' }).click();
  const hash = await page.evaluate(() => location.hash);
  const at = await nowMs(page);
  const copy = await site.open(hash, { width: 1440, height: 900 });
  await copy.waitForFunction(() => !document.querySelector('.busy'), null, { timeout: 30_000 });
  await untilSim(copy, at);
  assert.equal(await copy.locator('.node.kraft').count(), 3, 'the controllers are drawn');
  assert.equal(await copy.locator('[data-node^="zk:"]').count(), 0);
  await copy.getByRole('tab', { name: 'Config' }).click();
  await copy.locator('button.mode[data-mode="kraft"][aria-pressed="true"]').waitFor();
  assert.deepEqual([...page.errors, ...copy.errors], []);
  await page.close();
  await copy.close();
});

test('a scenario that kills a ZooKeeper server stays in ZooKeeper mode and says why', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await page.locator('select[aria-label="Choose a lesson"]').selectOption('zookeeper-quorum');
  await switchMode(page, 'kraft');
  const error = page.locator('.mode-error');
  await error.waitFor();
  assert.match(await error.innerText(), /ZooKeeper/);
  assert.ok(await page.locator('[data-node^="zk:"]').count() > 0, 'still in ZooKeeper mode');
  assert.equal(await page.locator('.node.kraft').count(), 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('KRaft mode at 390×844: controllers fit the phone, words at least 11 px, no sideways scrolling', async () => {
  const page = await site.open('', { width: 390, height: 844 });
  await switchMode(page, 'kraft');
  await page.locator('.node.kraft').first().waitFor();
  await setSpeed(page, 5);
  await untilSim(page, 5000);
  assert.equal(await page.locator('.node.kraft').count(), 3);
  assert.deepEqual(await textProblems(page), []);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling (${overflow}px)`);
  // Controllers side by side above the stacked brokers.
  const cards = await page.locator('.node.kraft').evaluateAll(ns => ns.map(n => n.getBoundingClientRect().toJSON()));
  const brokers = await page.locator('.node.broker').evaluateAll(ns => ns.map(n => n.getBoundingClientRect().toJSON()));
  assert.ok(cards.every(c => Math.abs(c.top - cards[0].top) < 1 && c.bottom < brokers[0].top), 'controllers in a row above the brokers');
  // The diagram's top just under the sticky header: the controllers, then the brokers.
  await page.evaluate(() => {
    const header = document.querySelector('header')?.getBoundingClientRect().height ?? 0;
    window.scrollBy(0, document.querySelector('.diagram').getBoundingClientRect().top - header - 8);
  });
  await shot(page, 'kraft-phone', false);
  assert.deepEqual(page.errors, []);
  await page.close();
});

/** Every diagram's words on the page (both sides of the compare view): none under 11 px. */
const smallText = page => page.evaluate(() => {
  const problems = [];
  for (const svg of document.querySelectorAll('.diagram svg.nodes, .strip.metadata svg')) {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll('text')) {
      if (!t.textContent.trim()) continue;
      const px = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (px < 11) problems.push(`"${t.textContent}" is ${px.toFixed(1)} px`);
    }
  }
  return problems;
});
const sideways = page => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
const idle = page => page.waitForFunction(() => !document.querySelector('.busy'), null, { timeout: 30_000 });

test('switching mode keeps a clicked fault, and names one the other mode has no node for', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await untilSim(page, 1000);
  await page.getByRole('button', { name: /Pause/ }).click();
  await page.locator('[data-node="broker:2"]').click();
  await page.keyboard.press('k');
  await page.locator('[data-node="broker:2"].dead').waitFor({ timeout: 5_000 });
  const at = await nowMs(page);
  await switchMode(page, 'kraft');
  await page.locator('.node.kraft').first().waitFor();
  await idle(page);
  assert.ok(await nowMs(page) >= at, 'the run replays to the same moment');
  assert.equal(await page.locator('[data-node="broker:2"].dead').count(), 1, 'broker 2 is still dead in KRaft mode');
  // A controller's own fault has no meaning in ZooKeeper mode: switching back drops it, by name.
  await page.locator('[data-node="controller:3001"]').click();
  await page.keyboard.press('k');
  await page.locator('[data-node="controller:3001"].dead').waitFor({ timeout: 5_000 });
  await switchMode(page, 'zookeeper');
  await page.locator('[data-node^="zk:"]').first().waitFor();
  await idle(page);
  assert.match(await page.locator('.notice').innerText(), /Not carried over to ZooKeeper mode: kill controller 3001/);
  assert.equal(await page.locator('[data-node="broker:2"].dead').count(), 1, 'broker 2 is still dead back in ZooKeeper mode');
  // The legend names ZooKeeper here and the quorum in KRaft mode.
  assert.match(await page.locator('.legend').first().innerText(), /ZooKeeper/);
  await switchMode(page, 'kraft');
  await page.locator('.node.kraft').first().waitFor();
  const legend = await page.locator('.legend').first().innerText();
  assert.doesNotMatch(legend, /ZooKeeper/);
  assert.match(legend, /controller quorum/);
  assert.match(legend, /standby controller/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('KRaft mode draws __cluster_metadata as a strip: record kinds, the HW, voters and observers', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  assert.equal(await page.locator('.strip.metadata').count(), 0, 'no metadata strip in ZooKeeper mode');
  await switchMode(page, 'kraft');
  await setSpeed(page, 5);
  await untilSim(page, 4000);
  await page.getByRole('button', { name: /Pause/ }).click();
  const strip = page.locator('.strip.metadata');
  await strip.waitFor();
  const kinds = await strip.locator('.cell').evaluateAll(cs => cs.map(c => c.dataset.kind));
  assert.ok(kinds.length >= 10, `cells: ${kinds.length}`);
  assert.ok(kinds.includes('NoOp'), `an idle quorum writes NoOps: ${kinds}`);
  const marks = (await strip.locator('.mark').allTextContents()).join(' | ');
  assert.match(marks, /HW \d+/, marks);
  const voters = (await strip.locator('.mark.leo').allTextContents()).join(',');
  for (const id of ['3000', '3001', '3002']) assert.ok(voters.includes(id), `controller ${id}'s LEO in ${marks}`);
  const observers = (await strip.locator('.mark.observer').allTextContents()).join(',');
  for (const id of ['b1', 'b2', 'b3']) assert.ok(observers.includes(id), `broker ${id}'s applied offset in ${marks}`);
  assert.equal(await strip.locator('.mark.hw').count(), 1);
  // The HW mark sits at the controller's high watermark.
  const hw = Number(await strip.locator('.mark.hw').getAttribute('data-offset'));
  assert.match(await strip.locator('.strip-title').innerText(), new RegExp(`HW ${hw} `));
  // Selecting a cell shows what the record says.
  await strip.locator('.cell').last().click();
  assert.match(await strip.locator('.record-detail').innerText(), /"type":"\w+"/);
  // The first records: the leader's LeaderChange, the metadata version, the brokers registering.
  await page.getByRole('button', { name: /Play/ }).click();
  assert.deepEqual(await smallText(page), []);
  await page.locator('section.metadata-log').scrollIntoViewIfNeeded();
  await page.locator('section.metadata-log').screenshot({ path: `${SHOTS}/metadata-strip-1440.png` });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the compare view: one timeline drives both modes, a broker killed once dies in both at the same moment', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await page.locator('button.compare-toggle').click();
  const zk = page.locator('.side[data-mode="zookeeper"]');
  const kraft = page.locator('.side[data-mode="kraft"]');
  await kraft.locator('.node.kraft').first().waitFor();
  assert.ok(await zk.locator('[data-node^="zk:"]').count() > 0, 'ZooKeeper on the ZooKeeper side');
  await setSpeed(page, 5);
  await untilSim(page, 3000);
  await page.getByRole('button', { name: /Pause/ }).click();
  // Both clocks read in one go (one frame).
  const clocks = () => page.evaluate(() => ['zookeeper', 'kraft'].map(m => document.querySelector(`.side[data-mode="${m}"] .side-clock`).dataset.nowMs));
  const [a, b] = await clocks();
  assert.equal(a, b, 'both runs at the same simulated time');
  await zk.locator('[data-node="broker:2"]').click();
  await page.keyboard.press('k');
  await zk.locator('[data-node="broker:2"].dead').waitFor({ timeout: 5_000 });
  await kraft.locator('[data-node="broker:2"].dead').waitFor({ timeout: 5_000 });
  const [c, d] = await clocks();
  assert.equal(c, d, 'killed at the same simulated time in both');
  // Play on: the ZooKeeper side waits for the session to expire, KRaft for the heartbeats.
  await page.getByRole('button', { name: /Play/ }).click();
  await untilSim(page, 8000);
  const [e, f] = await clocks();
  assert.equal(e, f, 'playing, the runs stay together');
  // A controller's own fault has no counterpart in ZooKeeper mode: it happens on its side only, and the page says so.
  await kraft.locator('[data-node="controller:3002"]').click();
  await page.locator('.inspector [data-inspects="controller:3002"]').waitFor({ timeout: 5_000 });
  await page.keyboard.press('k');
  await kraft.locator('[data-node="controller:3002"].dead').waitFor({ timeout: 5_000 });
  assert.match(await page.locator('.notice').innerText(), /kill controller 3002: only KRaft mode has it; ZooKeeper mode has no counterpart/);
  // Scrub back: both replay to the same moment; the broker is alive again in both.
  await page.locator('input.timeline').evaluate(el => { el.value = '2000'; el.dispatchEvent(new Event('change', { bubbles: true })); });
  await idle(page);
  await page.getByRole('button', { name: /Pause/ }).click();
  const [g, h] = await clocks();
  assert.equal(g, h);
  assert.equal(await page.locator('[data-node="broker:2"].dead').count(), 0, 'before the kill, broker 2 lives in both');
  assert.deepEqual(await smallText(page), []);
  assert.ok(await sideways(page) <= 1, 'no sideways scrolling');
  // Side by side at this width.
  const [zr, kr] = [await zk.boundingBox(), await kraft.boundingBox()];
  assert.ok(zr.x + zr.width <= kr.x + 1 && Math.abs(zr.y - kr.y) < 2, 'the diagrams side by side');
  await page.getByRole('button', { name: /Play/ }).click();
  await untilSim(page, 6000);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'compare-1440', false);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a share link reopens the compare view, with the fault in both runs', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await page.locator('button.compare-toggle').click();
  await page.locator('.side[data-mode="kraft"] .node.kraft').first().waitFor();
  await untilSim(page, 1000);
  await page.getByRole('button', { name: /Pause/ }).click();
  await page.locator('.side[data-mode="zookeeper"] [data-node="broker:3"]').click();
  await page.keyboard.press('k');
  // A controller's fault exists on the KRaft side only: the link carries that run too.
  await page.locator('.side[data-mode="kraft"] [data-node="controller:3001"]').click();
  await page.keyboard.press('k');
  await page.locator('.side[data-mode="kraft"] [data-node="controller:3001"].dead').waitFor({ timeout: 5_000 });
  const clocks = await page.locator('.side-clock').evaluateAll(cs => cs.map(c => c.dataset.nowMs));
  assert.equal(clocks[0], clocks[1], 'paused, a fault on one side keeps both at the same moment');
  await page.getByRole('button', { name: 'Share' }).click();
  const hash = await page.evaluate(() => location.hash);
  assert.match(hash, /&c=v1\./);
  const at = await nowMs(page);
  const copy = await site.open(hash, { width: 1440, height: 900 });
  await idle(copy);
  await untilSim(copy, at);
  assert.equal(await copy.locator('.compare .side').count(), 2);
  assert.equal(await copy.locator('.side [data-node="broker:3"].dead').count(), 2, 'broker 3 dead on both sides');
  assert.equal(await copy.locator('.side[data-mode="kraft"] [data-node="controller:3001"].dead').count(), 1, 'controller 3001 dead on the KRaft side');
  assert.equal(await copy.locator('button.compare-toggle[aria-pressed="true"]').count(), 1);
  assert.deepEqual([...page.errors, ...copy.errors], []);
  await page.close();
  await copy.close();
});

test('the compare view at 390×844 stacks the diagrams; a scenario that needs ZooKeeper shows why there is none', async () => {
  const page = await site.open('', { width: 390, height: 844 });
  await page.locator('button.compare-toggle').click();
  const sides = page.locator('.compare .side');
  await page.locator('.side[data-mode="kraft"] .node.kraft').first().waitFor();
  await setSpeed(page, 5);
  await untilSim(page, 4000);
  const [zr, kr] = [await sides.nth(0).boundingBox(), await sides.nth(1).boundingBox()];
  assert.ok(zr.y + zr.height <= kr.y + 1, 'stacked: ZooKeeper mode above KRaft mode');
  assert.deepEqual(await smallText(page), []);
  assert.ok(await sideways(page) <= 1, `no sideways scrolling (${await sideways(page)} px)`);
  await page.evaluate(() => {
    const header = document.querySelector('header')?.getBoundingClientRect().height ?? 0;
    window.scrollBy(0, document.querySelector('.compare').getBoundingClientRect().top - header - 8);
  });
  await shot(page, 'compare-phone', false);
  await page.locator('select[aria-label="Choose a lesson"]').selectOption('zookeeper-quorum');
  const error = page.locator('.compare-error');
  await error.waitFor();
  assert.match(await error.innerText(), /No compare view: .*ZooKeeper/);
  assert.equal(await page.locator('.compare .side').count(), 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('opening the compare view a minute in replays both runs to that moment together', async () => {
  const page = await site.open('', { width: 1440, height: 900 });
  await page.getByRole('button', { name: '+1 min' }).click();
  await untilSim(page, 60_000);
  await page.getByRole('button', { name: /Pause/ }).click();
  const at = await nowMs(page);
  await page.locator('button.compare-toggle').click();
  await page.locator('.side[data-mode="kraft"] .node.kraft').first().waitFor();
  await idle(page);
  const clocks = await page.locator('.side-clock').evaluateAll(cs => cs.map(c => Number(c.dataset.nowMs)));
  assert.deepEqual(clocks, [at, at], 'both runs at the moment the compare view was opened');
  assert.deepEqual(page.errors, []);
  await page.close();
});
