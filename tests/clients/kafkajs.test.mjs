// kafkajs against `kplay serve`: a second client library, written independently of
// kafka-python, produces and consumes with a group. Run by `make clients-test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');
const here = path.dirname(fileURLToPath(import.meta.url));
const KPLAY = process.env.KPLAY ?? 'target/debug/kplay';
const PORT = Number(process.env.KPLAY_JS_PORT ?? 29192);

function startServer() {
  const proc = spawn(KPLAY, ['serve', path.join(here, 'cluster.json'), '--listen', `127.0.0.1:${PORT}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kplay serve did not start: ${log}`)), 30000);
    proc.stderr.on('data', (d) => {
      log += d;
      if (log.includes('kplay serve:')) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.on('exit', (code) => reject(new Error(`kplay serve exited ${code}: ${log}`)));
  });
}

test('kafkajs creates a topic, produces keyed records and a group consumes them all', { timeout: 120000 }, async () => {
  const server = await startServer();
  const kafka = new Kafka({ clientId: 'kplay-test', brokers: [`127.0.0.1:${PORT}`], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic: 'payments', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true }), true);
    const meta = await admin.fetchTopicMetadata({ topics: ['payments'] });
    assert.equal(meta.topics[0].partitions.length, 3);

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 11}`, value: String(i) }));
    for (let i = 0; i < messages.length; i += 50) {
      await producer.send({ topic: 'payments', acks: -1, messages: messages.slice(i, i + 50) });
    }
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: 'ledger', sessionTimeout: 10000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'payments', fromBeginning: true });
    const seen = new Map();
    const byKey = new Map();
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.size} records in 60 s`)), 60000);
      consumer.run({
        eachMessage: async ({ message }) => {
          const v = Number(message.value.toString());
          seen.set(v, true);
          const key = message.key.toString();
          byKey.set(key, [...(byKey.get(key) ?? []), v]);
          if (seen.size === 300) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
    await consumer.disconnect();
    assert.equal(seen.size, 300, 'every record arrives');
    for (const [key, values] of byKey) {
      assert.deepEqual(values, [...values].sort((a, b) => a - b), `${key} in the order produced`);
    }
    const offsets = await admin.fetchOffsets({ groupId: 'ledger', topics: ['payments'] });
    const committed = offsets[0].partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    assert.equal(committed, 300, 'the group committed every record');
    const groups = await admin.describeGroups(['ledger']);
    assert.equal(groups.groups[0].groupId, 'ledger');
  } finally {
    await admin.disconnect().catch(() => {});
    server.stdin.end();
    server.kill();
  }
});
