// Hoist's own name and version, read once from package.json (shipped beside build/ in every package).
import fs from 'node:fs';

const manifest = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { productName?: string; version: string };

export const APP_NAME = manifest.productName ?? 'Hoist';
export const APP_VERSION = manifest.version;
export const USER_AGENT = `${APP_NAME}/${APP_VERSION}`;
