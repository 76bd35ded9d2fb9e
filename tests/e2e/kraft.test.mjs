// End-to-end: KRaft mode on the page. The Config panel's mode switch restarts the scenario with
// a controller quorum drawn where ZooKeeper was; a controller can be inspected and killed, and
// another is elected; a share link carries the mode; a scenario that needs ZooKeeper says why
// it cannot switch. Run by `make e2e`. Screenshots: target/e2e/kraft-1440.png, kraft-phone.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSite, shot, untilSim, nowMs, setSpeed } from './site.mjs';

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
