// A first run that works (issue 14): what the "Add a destination" screen may offer on this host,
// before any destination exists. The hosts fill it in; the renderer only reads it.

/** What this host can do for a first destination. */
export interface SetupInfo {
  /**
   * Whether "Use a local test server" is offered: only when running from a checkout of Hoist
   * (never the packaged app) where `npm run setup` installed radosgw (scripts/s3-server.sh).
   */
  localTestServer: boolean;
  /** Whether typed access keys can be kept (sealed with the OS keychain: the desktop app only). */
  keychain: boolean;
  /** The AWS profiles ~/.aws/config and ~/.aws/credentials define (or the files AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name), sorted. */
  profiles: string[];
}

/** The bucket "Use a local test server" creates and the destination it adds. */
export const LOCAL_TEST_BUCKET = 'hoist-local';
export const LOCAL_TEST_DESTINATION = 'Local test server';
