// CommonJS packages (the AWS SDK, aws-crt, hash-wasm) loaded with `require`, not `import`. Node 20's
// ESM loader runs cjs-module-lexer over a CommonJS package's files to find its named exports, and
// checks each file's format, before evaluating it; `require` only evaluates. Every part worker thread
// loads these again (an isolate of its own), so the difference is paid per thread and per process.
// Measured 2026-12-05 (Node 20.20.2, CPU of a fresh process, medians of 3): @aws-sdk/client-s3 275
// ms imported, 160 ms required; @smithy/node-http-handler 155 / 85; aws-crt 123 (all of it) / 80
// (its checksums alone); hash-wasm 60 / 13 (docs/performance.md, "Where each CPU second per GiB goes").
import { createRequire } from 'node:module';

export const requireCjs = createRequire(import.meta.url);
