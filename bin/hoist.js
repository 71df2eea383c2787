#!/usr/bin/env node
// Entry point for the `hoist` command; the code lives in build/ (npm run build).
// The SDK's notice about future Node versions is for developers, not for people moving footage.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Before the engine's modules: `hoist upload` starts its first part-worker thread, which loads beside them.
const { startEarly } = await import('../build/src-main/cli/early-start.js');
startEarly();
const { main } = await import('../build/src-main/cli/main.js');
await main();
