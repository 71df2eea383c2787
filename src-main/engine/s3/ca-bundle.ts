// The PEM bundle that replaces the default roots (AWS_CA_BUNDLE or the profile's ca_bundle, as the
// AWS tools read them), read once per file and process thread. Kept apart from s3/client.ts so that
// the part workers, which send without the SDK (s3/direct-request.ts), do not load the SDK to get it.
import fs from 'node:fs';

const bundles = new Map<string, Buffer>();

export function readCaBundle(file: string): Buffer {
  let ca = bundles.get(file);
  if (!ca) {
    ca = fs.readFileSync(file);
    bundles.set(file, ca);
  }
  return ca;
}
