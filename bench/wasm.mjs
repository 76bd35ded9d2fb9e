// Serves kplay-wasm-node (built by `make bench`: cargo for wasm32, then wasm-bindgen --target
// nodejs into target/wasm-node/) to `kplay-bench --wasm bench/wasm.mjs`, which runs this
// script once and interleaves its runs with the native ones: each line on stdin,
// "NAME SIZE" (`end_to_end quick`), runs that benchmark once; the answer is one line of JSON,
// the run's results or {"error": "..."}.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const bench = require('../target/wasm-node/kplay_wasm_node.js');
for await (const line of createInterface({ input: process.stdin })) {
  const [name, size] = line.trim().split(/\s+/);
  let answer;
  try {
    answer = bench.run_once(name ?? '', size ?? '');
  } catch (e) {
    answer = JSON.stringify({ error: String(e) });
  }
  process.stdout.write(answer + '\n');
}
