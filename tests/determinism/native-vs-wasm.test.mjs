// Same seed ⇒ same trace, natively and in wasm: every lesson's trace hash for seeds 0..N
// (KPLAY_DETERMINISM_SEEDS, default 10) from the core compiled to wasm32 and run here in Node
// (`make determinism` builds target/wasm-node-dev/) must equal what the native
// `kplay check LESSON --seeds N --hashes` prints. The native runs go on in a child process
// while this one computes the wasm hashes, so the two cores work at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const wasm = require('../../target/wasm-node-dev/kplay_wasm_node.js');
const kplay = new URL('../../target/debug/kplay', import.meta.url).pathname;
const seeds = Number(process.env.KPLAY_DETERMINISM_SEEDS ?? 10);

async function nativeHashes(lessons, mode) {
  const out = {};
  for (const lesson of lessons) {
    const args = ['check', lesson, '--seeds', String(seeds), '--hashes', '--jobs', '1'];
    const { stdout } = await promisify(execFile)(
      kplay, mode ? [...args, '--mode', mode] : args, { maxBuffer: 1 << 24 });
    out[lesson] = JSON.parse(stdout).trace_hashes;
  }
  return out;
}

// Each lesson as written (ZooKeeper mode), then in KRaft mode (all but ZooKeeper's own).
for (const mode of ['', 'kraft']) {
test(`every lesson's trace hash for ${seeds} seeds is the same natively and in wasm${mode ? ` in ${mode} mode` : ''}`, async () => {
  const lessons = JSON.parse(wasm.lesson_names(mode));
  assert.ok(lessons.length >= 20, `${lessons.length} lessons`);
  const native = nativeHashes(lessons, mode);
  const inWasm = {};
  for (const lesson of lessons) {
    // Between lessons the event loop runs, so the native chain starts its next lesson.
    await new Promise((resolve) => setTimeout(resolve, 20));
    inWasm[lesson] = JSON.parse(wasm.lesson_trace_hashes(lesson, seeds, mode));
  }
  const natively = await native;
  for (const lesson of lessons) {
    assert.equal(inWasm[lesson].length, seeds);
    assert.deepEqual(inWasm[lesson], natively[lesson], `${lesson}: wasm vs native`);
  }
  // Different seeds give different runs (a constant hash would pass the comparison).
  for (const lesson of lessons) {
    assert.ok(new Set(inWasm[lesson]).size > seeds / 2, `${lesson}: ${inWasm[lesson]}`);
  }
  console.log(`determinism${mode ? ` (${mode})` : ''}: ${lessons.length} lessons × ${seeds} seeds, native = wasm`);
});
}
