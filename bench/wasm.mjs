// Runs kplay-wasm-node (built by `make bench`: cargo for wasm32, then wasm-bindgen --target
// nodejs into target/wasm-node/) under Node and prints its JSON. `--quick` runs the small sizes.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const bench = require('../target/wasm-node/kplay_wasm_node.js');
process.stdout.write(bench.run(process.argv.includes('--quick')) + '\n');
