// The headless host's bridge: how a browser tab drives the HoistApi over one WebSocket.
// Message types only, so the host (src-main/hosts/headless) and the renderer's client agree.
//
// 1. Authentication. `hoist serve` prints `http://127.0.0.1:PORT/?token=TOKEN`. Loading it sets the
//    cookie `hoist_token_PORT` (HttpOnly, SameSite=Strict, Path=/; the port is in the name because
//    cookies do not separate ports) and answers 303 to the same path without the token, so the token
//    leaves the address bar and history. Every later request (pages, assets, the bridge) carries the
//    cookie. Anything without a valid token gets 401; a Host header other than 127.0.0.1:PORT, 403.
// 2. Connecting. `new WebSocket(`ws://${location.host}${BRIDGE_PATH}`)`: the browser sends the cookie
//    and its Origin. An upgrade whose Origin is not exactly `http://127.0.0.1:PORT` is refused (403).
//    Clients that are not browsers send that Origin header themselves and may put `?token=TOKEN` on
//    the bridge URL instead of the cookie.
// 3. Requests, client to host: one text frame per BridgeRequest `{ id, method, args }`. `method` is a
//    HoistCommand; `args` is the method's argument list as a JSON array (an optional argument may be
//    left out, or sent as null). `id` is the client's own (a string of at most 64 characters or a
//    safe integer), echoed in the answer; answers may come in any order.
// 4. Answers, host to client: `{ id, result }` on success (`result` is null for commands returning
//    nothing) or `{ id, error }` with an ErrorInfo (`code` from shared/errors.ts, `message` a person
//    can act on). A frame that is not a readable request is answered `{ id: null, error }` (or with
//    its id when that could be read); the connection stays open.
// 5. Events, host to client, unasked: `{ event }` with a HoistEvent, from the moment the socket opens:
//    job changes, progress (coalesced to at most about 10 a second; a slow reader may miss some
//    progress frames, never a job frame), and remote-listing changes.
// 6. Limits: a frame above BRIDGE_MAX_PAYLOAD bytes closes the socket (close code 1009).
// 7. Failed commands: a client should reject the command's promise with the ErrorInfo itself (a
//    plain object with `code` and `message`). The Electron preload does the same, because only plain
//    data crosses contextBridge, so the renderer handles errors the same way under both hosts.
import type { HoistApi, HoistCommand, HoistEvent } from './contract.js';
import type { ErrorInfo } from './errors.js';

export const BRIDGE_PATH = '/bridge';
export const BRIDGE_MAX_PAYLOAD = 1024 * 1024;
export const BRIDGE_MAX_ID_LENGTH = 64;

export type BridgeRequestId = string | number;

export type BridgeRequest<M extends HoistCommand = HoistCommand> = {
  [K in M]: { id: BridgeRequestId; method: K; args: Parameters<HoistApi[K]> };
}[M];

/** What a command resolves to on success. */
export type BridgeResult<M extends HoistCommand> = Awaited<ReturnType<HoistApi[M]>>;

export interface BridgeSuccess {
  id: BridgeRequestId;
  result: unknown;
}

export interface BridgeFailure {
  /** null when the frame was not a request whose id could be read. */
  id: BridgeRequestId | null;
  error: ErrorInfo;
}

export type BridgeResponse = BridgeSuccess | BridgeFailure;

export interface BridgeEventMessage {
  event: HoistEvent;
}

/** Every frame the host sends. */
export type BridgeServerMessage = BridgeResponse | BridgeEventMessage;
