// Entry point of `npm run bench:scale`: silences the SDK's Node-version notice before anything loads the SDK.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { main } = await import('./scale-bench.js');
process.exitCode = await main(process.argv.slice(2));
