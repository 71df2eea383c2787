// Entry point of `npm run bench`: silences the SDK's Node-version notice before anything loads the SDK.
// Default: the comparison with other clients (compare.ts); `--single …`: the issue 6 single-file bench (run-bench.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const argv = process.argv.slice(2);
if (argv[0] === '--single') {
  const { main } = await import('./run-bench.js');
  process.exitCode = await main(argv.slice(1));
} else {
  const { COMPARE_USAGE, parseCompareOptions, runCompare } = await import('./compare.js');
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(COMPARE_USAGE);
  } else {
    let options;
    try {
      options = parseCompareOptions(argv);
    } catch (err) {
      console.error(`bench: ${(err as Error).message}\n${COMPARE_USAGE}`);
      process.exit(2);
    }
    process.exitCode = await runCompare(options);
  }
}
