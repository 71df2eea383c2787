// Errors as a person reads them: the code's message, the operation that failed, and the detail.
import { ERROR_CODES, isErrorCode, type ErrorInfo } from '../../shared/errors.js';

/** Whatever a call rejected with (the hosts' plain ErrorInfo, an Error carrying one, a bug), as ErrorInfo. */
export function toErrorInfo(err: unknown, operation?: string): ErrorInfo {
  const carried = (err as { info?: unknown } | null)?.info ?? err;
  if (carried && typeof carried === 'object' && isErrorCode((carried as ErrorInfo).code)) {
    const info = carried as ErrorInfo;
    return { ...info, message: info.message || ERROR_CODES[info.code].message, operation: info.operation ?? operation };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal.unexpected', message: message || ERROR_CODES['internal.unexpected'].message, ...(operation ? { operation } : {}) };
}


/** "UploadPart" → "Upload part"; "listRemoteUploads" → "List remote uploads". */
export function humanOperation(op: string): string {
  const words = op.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
