// One browser tab's WebSocket: requests answered through the validated command path, events
// pushed as they happen. Nothing a client sends can throw out of here (see shared/bridge.ts).
import type { WebSocket } from 'ws';
import type { BridgeEventMessage, BridgeRequestId, BridgeServerMessage } from '../../../shared/bridge.js';
import { BRIDGE_MAX_ID_LENGTH } from '../../../shared/bridge.js';
import type { HoistApi, HoistEvent } from '../../../shared/contract.js';
import { HoistError } from '../../../shared/errors.js';
import { toErrorInfo } from '../../engine/s3/errors.js';
import { runCommand } from '../dispatch.js';

/** Requests one client may have in flight; more are answered with an error at once. */
const MAX_IN_FLIGHT = 64;
/** Above this much unsent output, progress frames for that client are skipped (the next one replaces them). */
const PROGRESS_BACKLOG_BYTES = 4 * 1024 * 1024;

function readId(value: unknown): BridgeRequestId | null {
  if (typeof value === 'string' && value.length > 0 && value.length <= BRIDGE_MAX_ID_LENGTH) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  return null;
}

function invalid(message: string): HoistError {
  return new HoistError('config.invalid', { message });
}

export function serveBridge(ws: WebSocket, api: HoistApi): void {
  let inFlight = 0;

  const send = (message: BridgeServerMessage): void => {
    if (ws.readyState !== ws.OPEN) return;
    let frame: string;
    try {
      frame = JSON.stringify(message);
    } catch (err) {
      if ('event' in message) return;
      frame = JSON.stringify({ id: message.id, error: toErrorInfo(err) });
    }
    ws.send(frame, (err) => {
      // The socket closing mid-send is normal when a tab goes away.
      if (err) ws.terminate();
    });
  };

  const push = (event: HoistEvent): void => {
    if (event.type === 'progress' && ws.bufferedAmount > PROGRESS_BACKLOG_BYTES) return;
    send({ event } satisfies BridgeEventMessage);
  };

  const unsubscribe = [
    api.onJobChanged((job) => push({ type: 'job', job })),
    api.onProgress((progress) => push({ type: 'progress', progress })),
    api.onRemoteChanged((destinationId) => push({ type: 'remote', destinationId })),
    api.onRunnerChanged((runner) => push({ type: 'runner', runner })),
  ];

  const fail = (id: BridgeRequestId | null, err: unknown) => send({ id, error: toErrorInfo(err) });

  ws.on('message', (data, isBinary) => {
    if (isBinary) return fail(null, invalid('The bridge takes text frames of JSON, not binary ones.'));
    let request: unknown;
    try {
      request = JSON.parse(data.toString());
    } catch {
      return fail(null, invalid('The frame is not JSON.'));
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return fail(null, invalid('A request is an object { id, method, args }.'));
    }
    const { id: rawId, method, args } = request as Record<string, unknown>;
    const id = readId(rawId);
    if (id === null) return fail(null, invalid(`A request needs an id: a string of 1 to ${BRIDGE_MAX_ID_LENGTH} characters or a whole number.`));
    if (inFlight >= MAX_IN_FLIGHT) return fail(id, invalid(`Too many requests at once (at most ${MAX_IN_FLIGHT}); wait for answers.`));
    inFlight++;
    runCommand(api, method, args)
      .then(
        (result) => send({ id, result: result ?? null }),
        (err) => fail(id, err),
      )
      .finally(() => inFlight--);
  });

  // ws reports oversized or broken frames here before it closes the socket; without a listener they would crash the host.
  ws.on('error', () => ws.terminate());
  ws.on('close', () => {
    for (const stop of unsubscribe) stop();
  });
}
