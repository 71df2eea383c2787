// Runs one command that came over a bridge: validated first, then handed to the HoistApi.
import type { HoistApi } from '../../shared/contract.js';
import { validateCommand } from './schemas.js';

export async function runCommand(api: HoistApi, name: unknown, args: unknown): Promise<unknown> {
  const command = validateCommand(name, args);
  const method = api[command.name] as (...args: unknown[]) => Promise<unknown>;
  return method.apply(api, command.args);
}
