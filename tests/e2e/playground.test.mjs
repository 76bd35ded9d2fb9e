// End-to-end: the release build served statically, driven in Debian's headless Chromium.
// Run by `make e2e` (part of `make test`). Screenshots go to target/e2e/ — look at them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSite, nowMs, shot, setSpeed, untilSim, shareString } from './site.mjs';

let site;
before(async () => { site = await startSite(); });
after(async () => { await site?.close(); });
const open = (...args) => site.open(...args);

/** The leader of a partition, read from its strip's title ("orders-0 · leader 2 · ISR [2,3,1]"). */
async function leaderOf(page, partition) {
  const title = await page.locator(`[data-partition="${partition}"] .strip-title b`).innerText();
  const m = title.match(/leader (\d+)/);
  return m ? Number(m[1]) : null;
}

test('the default lesson loads and messages flow', async () => {
  const page = await open();
  await untilSim(page, 3000);
  const t1 = await nowMs(page);
  await page.waitForTimeout(500);
  assert.ok(await nowMs(page) > t1, 'simulated time advances');
  assert.ok(Number(await page.locator('.dots').getAttribute('data-count')) > 0, 'messages are drawn as dots');
  assert.match(await page.locator('.lesson h3').innerText(), /Replication/);
  assert.equal(await page.locator('.node.broker').count(), 3);
  assert.equal(await page.locator('.node.zk').count(), 3);
  // The traffic table counts each API's messages in the last simulated second.
  const apis = await page.locator('.traffic tr[data-api]').evaluateAll(rows => rows.map(r => r.dataset.api));
  for (const api of ['Produce', 'Fetch']) assert.ok(apis.includes(api), `${api} in ${apis}`);
  await shot(page, 'default-lesson');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('killing the leader broker moves leadership and the event log says so', async () => {
  const page = await open();
  await untilSim(page, 5000);
  const leader = await leaderOf(page, 'orders-0');
  assert.ok(leader, 'orders-0 has a leader');
  // A click selects the broker; the inspector's Kill button kills it.
  await page.locator(`[data-node="broker:${leader}"]`).click({ position: { x: 20, y: 10 } });
  await page.locator('.inspector').getByRole('button', { name: /^Kill/ }).click();
  await page.locator('ul.log li', { hasText: `broker ${leader} died` }).first().waitFor({ timeout: 10_000 });
  // The controller notices when the broker's ZooKeeper session expires (18 s): go faster.
  await setSpeed(page, 20);
  const moved = page.locator("ul.log li", { hasText: new RegExp(`partition orders-0 leader → (?!${leader})\\d`) });
  await moved.first().waitFor({ timeout: 30_000 });
  const line = await moved.first().innerText();
  const next = Number(line.match(/leader → (\d+)/)[1]);
  assert.notEqual(next, leader);
  // While playing, the strips redraw at most every 100 ms: give the strip its next redraw. (The
  // lesson itself kills broker 1 at 15 s, so at 20x the leader may have moved on again since.)
  await page.locator('[data-partition="orders-0"] .strip-title b', { hasText: new RegExp(`leader (?!${leader})\\d`) })
    .waitFor({ timeout: 2_000 });
  assert.notEqual(await leaderOf(page, 'orders-0'), leader);
  assert.ok(await page.locator(`[data-node="broker:${leader}"].dead`).count() === 1, 'the dead broker is drawn dead');
  await shot(page, 'leader-killed');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('stopping a broker cleanly moves its leadership at once, with no session timeout', async () => {
  const page = await open();
  await untilSim(page, 5000);
  await page.getByRole('button', { name: /Pause/ }).click();
  const leader = await leaderOf(page, 'orders-0');
  assert.ok(leader, 'orders-0 has a leader');
  await page.getByRole('tab', { name: 'Actions' }).click();
  await page.locator('.actions fieldset', { hasText: 'Brokers and network' }).locator('select').selectOption(String(leader));
  await page.getByRole('button', { name: 'Stop it cleanly' }).click();
  const stoppedAt = await nowMs(page);
  // Step a simulated second: a controlled shutdown moves leadership within milliseconds.
  await page.locator('button.play').click();
  await untilSim(page, stoppedAt + 1000);
  await page.locator('button.play').click();
  await page.locator('ul.log li', { hasText: `stop broker ${leader}` }).first().waitFor();
  await page.locator('ul.log li', { hasText: `broker ${leader} closed` }).first().waitFor();
  await page.locator('ul.log li', { hasText: new RegExp(`partition orders-0 leader → (?!${leader})\\d`) }).first().waitFor();
  await page.waitForTimeout(300);
  assert.notEqual(await leaderOf(page, 'orders-0'), leader);
  await shot(page, 'broker-stopped');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('switching a producer from acks=0 to acks=all stops it losing acknowledged records', async () => {
  const page = await open();
  await page.locator('select[aria-label="Choose a lesson"]').selectOption('acks-and-leader-crash');
  await page.locator('.lesson h3', { hasText: 'acks=0, 1 and all' }).waitFor();
  const lostByAcks = async () => {
    // The lesson cuts the leader off from its followers, then kills it; by 60 s the story is over.
    await page.getByRole('button', { name: '+1 min' }).click();
    await untilSim(page, 60_000);
    await page.getByRole('button', { name: /Pause/ }).click();
    await page.waitForTimeout(200);
    const lost = {};
    for (const el of await page.locator('.by-acks .acks').all()) {
      lost[await el.getAttribute('data-acks')] = Number((await el.innerText()).split(': ')[1]);
    }
    return lost;
  };
  const before = await lostByAcks();
  await shot(page, 'acks-0');
  assert.ok(before['0'] > 0, `the acks=0 producer loses acknowledged records (${JSON.stringify(before)})`);
  assert.equal(before.all, undefined, 'the acks=all producer loses none');

  await page.getByRole('tab', { name: 'Config' }).click();
  await page.locator('#knob-producers-0-config-acks').selectOption('all');
  await page.locator('.config .ok').waitFor();
  await page.getByRole('button', { name: 'Apply and restart' }).click();
  const after = await lostByAcks();
  await shot(page, 'acks-all');
  assert.equal(after['0'], undefined, `no acks=0 producer is left (${JSON.stringify(after)})`);
  assert.equal(after.all, undefined, 'acks=all producers lose nothing');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a share link reopens the same scenario at the same moment', async () => {
  const page = await open();
  await untilSim(page, 4000);
  await page.locator('[data-node="broker:3"]').click({ position: { x: 20, y: 10 } });
  await page.keyboard.press('k');
  await untilSim(page, 6000);
  await page.getByRole('button', { name: /Pause/ }).click();
  await page.getByRole('button', { name: 'Share' }).click();
  const hash = await page.evaluate(() => location.hash);
  assert.match(hash, /^#s=v1\.[A-Za-z0-9_-]+&t=\d+(\.\d{3})?$/);
  const state = async p => ({
    clock: await p.locator('.clock').innerText(),
    strips: await p.locator('.strip-title').allInnerTexts(),
    // What is selected for the inspector is the page's, not the run's: the link leaves it out.
    brokers: await p.locator('.node.broker').evaluateAll(nodes => nodes.map(n => n.getAttribute('class').replace(/ selected\b/, ''))),
  });
  const original = await state(page);
  const copy = await open(hash);
  await copy.waitForFunction(() => !document.querySelector('.busy'), null, { timeout: 30_000 });
  assert.deepEqual(await state(copy), original);
  assert.ok(original.brokers.some(c => c.includes('dead')), 'the kill is part of the link');
  await shot(copy, 'share-reopened');
  assert.deepEqual([...page.errors, ...copy.errors], []);
  await page.close();
  await copy.close();
});

test('a malformed share link shows a friendly error, not a blank page', async () => {
  const page = await open('#s=v1.this-is-not-a-scenario');
  const banner = page.locator('.banner.error');
  await banner.waitFor();
  assert.match(await banner.innerText(), /could not be opened/);
  await untilSim(page, 1000);
  assert.equal(await page.locator('.node.broker').count(), 3, 'the default lesson runs instead');
  await shot(page, 'bad-link');
  await page.close();
});

test('names from a link render as text, never as HTML', async () => {
  const evil = '<img src=x onerror="window.pwned=1">';
  const scenario = {
    name: evil,
    topics: [{ name: 'orders', partitions: 2, replication_factor: 1 }],
    producers: [{ topic: 'orders', rate_per_sec: 5 }],
    consumers: [{ topic: 'orders', config: { 'group.id': '<b>group</b>' } }],
    lesson: { title: evil, steps: [{ text: '<script>window.pwned=2</script>' }], question: evil, answer: evil },
  };
  const page = await open('#s=' + shareString(scenario));
  await page.locator('.lesson h3').waitFor();
  await untilSim(page, 6000);
  assert.equal(await page.locator('.lesson h3').innerText(), evil);
  assert.equal(await page.locator('main img, main script, main b:text("group")').count(), 0);
  assert.ok((await page.locator('.diagram').innerText()).includes('<b>group</b>'));
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  await shot(page, 'html-as-text');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the page fits a phone-width screen and keyboard shortcuts work', async () => {
  const page = await open('', { width: 390, height: 844 });
  await untilSim(page, 1000);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling (${overflow}px)`);
  await page.keyboard.press('Space');
  const paused = await nowMs(page);
  await page.waitForTimeout(400);
  assert.equal(await nowMs(page), paused, 'space pauses');
  await page.keyboard.press('ArrowRight');
  assert.ok(await nowMs(page) >= paused, '→ steps one event');
  await page.keyboard.press('?');
  await page.getByRole('dialog').waitFor();
  await shot(page, 'phone-help');
  await page.keyboard.press('Escape');
  assert.equal(await page.getByRole('dialog').count(), 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the terminal runs Kafka tools: describe prints the table, a kill by command shows in the diagram', async () => {
  const page = await open();
  await untilSim(page, 5000);
  await page.getByRole('tab', { name: 'Terminal' }).click();
  const input = page.getByRole('textbox', { name: 'Terminal command' });
  // Tab completes the tool name and the option.
  await input.fill('kafka-top');
  await input.press('Tab');
  assert.equal(await input.inputValue(), 'kafka-topics.sh ');
  await input.fill('kafka-topics.sh --bootstrap-server localhost:9092 --describe --topic orders');
  await input.press('Enter');
  const out = page.locator('.term-out');
  await out.locator('span.out', { hasText: 'PartitionCount: 3' }).waitFor();
  const text = await out.innerText();
  assert.match(text, /Topic: orders\tTopicId: \S{22}\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: /);
  assert.equal((text.match(/\tTopic: orders\tPartition: \d\tLeader: \d\tReplicas: [\d,]+\tIsr: [\d,]+\tElr: N\/A\tLastKnownElr: N\/A/g) || []).length, 3);
  // ↑ brings the command back.
  await input.press('ArrowUp');
  assert.match(await input.inputValue(), /--describe --topic orders$/);
  await input.fill('kill broker 2');
  await input.press('Enter');
  await page.locator('[data-node="broker:2"].dead').waitFor({ timeout: 10_000 });
  await page.locator('ul.log li', { hasText: 'broker 2 died' }).first().waitFor();
  await shot(page, 'terminal');
  // The kill is an action: the share link carries it.
  await page.getByRole('button', { name: 'Share' }).click();
  const hash = await page.evaluate(() => location.hash);
  const copy = await open(hash);
  await copy.waitForFunction(() => !document.querySelector('.busy'), null, { timeout: 30_000 });
  await copy.locator('[data-node="broker:2"].dead').waitFor({ timeout: 10_000 });
  assert.deepEqual([...page.errors, ...copy.errors], []);
  await page.close();
  await copy.close();
});
