import { HoistError } from '../../../shared/errors.js';
import { MAX_PARTS, MAX_PART_SIZE, MAX_SINGLE_PUT_SIZE, MIN_PART_SIZE, MiB } from '../../../shared/limits.js';
import type { UploadMode } from '../../../shared/states.js';
import type { PlannedPart } from '../store/job-store.js';

export interface PlanSettings {
  /** The configured part size. */
  partSize: number;
  /** Files smaller than this go as one PutObject. */
  singlePutThreshold: number;
  /** The destination's largest accepted object. */
  maxObjectSize: number;
  /** Parts one upload may have (10,000 on S3). */
  maxParts?: number;
}

export interface PartPlan {
  mode: UploadMode;
  partSize: number;
  parts: PlannedPart[];
}

/**
 * The part size for a file: the larger of the configured size and size/maxParts (10,000) rounded up to a
 * whole MiB, kept within 5 MiB..5 GiB (invariant 6).
 */
export function choosePartSize(fileSize: number, configured: number, maxParts = MAX_PARTS): number {
  const needed = Math.ceil(fileSize / maxParts / MiB) * MiB;
  return Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, configured, needed));
}

export function planParts(fileSize: number, settings: PlanSettings): PartPlan {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new HoistError('config.invalid', { message: `Invalid file size ${fileSize}.` });
  if (fileSize > settings.maxObjectSize) {
    throw new HoistError('limits.too-large', {
      message: `The file is ${formatBytes(fileSize)} (${fileSize} bytes), larger than the ${formatBytes(settings.maxObjectSize)} (${settings.maxObjectSize} bytes) this destination accepts as one object.`,
    });
  }
  if (fileSize === 0 || (fileSize < settings.singlePutThreshold && fileSize <= MAX_SINGLE_PUT_SIZE)) {
    return { mode: 'single', partSize: fileSize, parts: [{ partNumber: 1, offset: 0, length: fileSize }] };
  }
  const maxParts = settings.maxParts ?? MAX_PARTS;
  const partSize = choosePartSize(fileSize, settings.partSize, maxParts);
  const count = Math.ceil(fileSize / partSize);
  if (count > maxParts) {
    throw new HoistError('limits.too-large', {
      message: `The file is ${formatBytes(fileSize)}: even with ${formatBytes(MAX_PART_SIZE)} parts it needs more than ${maxParts} parts.`,
    });
  }
  return { mode: 'multipart', partSize, parts: splitIntoParts(fileSize, partSize) };
}

/** Consecutive parts of `partSize` bytes (the last one shorter) covering the file. */
/** The part size a multipart upload of this size would use, whatever the single-PUT threshold (to match an ETag made by our parts). */
export function multipartPartSize(fileSize: number, settings: PlanSettings): number {
  return planParts(fileSize, { ...settings, singlePutThreshold: 0 }).partSize;
}

export function splitIntoParts(fileSize: number, partSize: number): PlannedPart[] {
  const parts: PlannedPart[] = [];
  for (let offset = 0, n = 1; offset < fileSize; offset += partSize, n++) {
    parts.push({ partNumber: n, offset, length: Math.min(partSize, fileSize - offset) });
  }
  return parts;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value >= 100 ? 0 : 1).replace(/\.0$/, '')} ${UNITS[unit]}`;
}

/** Parses sizes such as "64MiB", "64M", "5 GB", "1048576", "1.5GiB". */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)b?\s*$/i.exec(text);
  if (!m) throw new HoistError('config.invalid', { message: `"${text}" is not a size (examples: 64MiB, 5GB, 1048576).` });
  const power = ' kmgtp'.indexOf((m[2] || ' ').toLowerCase());
  // "MB" and "GB" are decimal; "M", "MiB" and "GiB" are binary, as media tools write them.
  const decimal = Boolean(m[2]) && !m[3] && /b\s*$/i.test(text);
  const base = decimal ? 1000 : 1024;
  const value = Math.round(Number(m[1]) * base ** power);
  if (!Number.isSafeInteger(value)) throw new HoistError('config.invalid', { message: `"${text}" is too large.` });
  return value;
}
