// "Test connection" before a destination exists (issue 14's first run): the same checks as a saved
// destination's (remote/connection-test.ts), on settings the form holds, with the credentials it
// names: typed keys (used for this test only, kept nowhere), a profile, or the default AWS chain.
// The CA bundle is the one the AWS tools would use: AWS_CA_BUNDLE, else the profile's ca_bundle.
import type { ConnectionCheck, Credentials, Destination, DestinationInput } from '../../../shared/types.js';
import { testConnection } from '../remote/connection-test.js';
import { createS3Client } from '../s3/client.js';
import { CredentialSource, connectionFor, resolveAwsSettings } from '../s3/connection.js';
import type { SecretStore } from '../secrets.js';

/** The id a draft carries: no saved destination has it (ids start at 1). */
const DRAFT_ID = 0;

/** Typed keys, handed to the credential source as if saved for the draft, for this one test. */
function typedKeys(credentials: Credentials): SecretStore {
  return {
    get: async (id) => (id === DRAFT_ID ? credentials : null),
    set: async () => undefined,
    delete: async () => undefined,
  };
}

export function draftDestination(input: DestinationInput): Destination {
  return { ...input, id: DRAFT_ID, ifExists: input.ifExists ?? 'skip-identical', credentials: 'chain' };
}

export async function testDraft(input: DestinationInput, credentials?: Credentials): Promise<ConnectionCheck[]> {
  const dest = draftDestination(input);
  const source = new CredentialSource(credentials ? typedKeys(credentials) : undefined);
  let made: ReturnType<typeof createS3Client> | null = null;
  try {
    return await testConnection(dest, async () => {
      const { caBundle } = await resolveAwsSettings({ profile: dest.profile, region: dest.region, endpoint: dest.endpoint ?? 'https://s3.amazonaws.com' });
      made = createS3Client(await connectionFor(dest, source, { caBundle, maxAttempts: 2, maxSockets: 4 }));
      return made;
    });
  } finally {
    (made as ReturnType<typeof createS3Client> | null)?.destroy();
  }
}
