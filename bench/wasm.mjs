// Runs kplay-wasm-bench (built by `make bench`: cargo for wasm32, then wasm-bindgen --target
// nodejs into target/wasm-bench/) under Node and prints its JSON. `--quick` runs the small sizes.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const bench = require('../target/wasm-bench/kplay_wasm_bench.js');
process.stdout.write(bench.run(process.argv.includes('--quick')) + '\n');
