// The AWS profiles this computer defines, for the destination form to offer (issue 14's first run):
// the sections of ~/.aws/config and ~/.aws/credentials (or the files AWS_CONFIG_FILE and
// AWS_SHARED_CREDENTIALS_FILE name), read afresh, without the other kinds of section.
import { loadSharedConfigFiles } from '@smithy/shared-ini-file-loader';

/** Sections of the config file that are not profiles (the loader names them "kind.name"). */
const OTHER_SECTIONS = /^(sso-session|services)\./;

export async function listProfiles(): Promise<string[]> {
  try {
    const files = await loadSharedConfigFiles({ ignoreCache: true });
    const names = new Set([...Object.keys(files.configFile ?? {}), ...Object.keys(files.credentialsFile ?? {})]);
    return [...names].filter((n) => !OTHER_SECTIONS.test(n)).sort();
  } catch {
    // No ~/.aws files is normal.
    return [];
  }
}
