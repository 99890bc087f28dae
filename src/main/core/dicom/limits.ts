/**
 * What one instance may cost the gateway, whatever its sender wrote: the parser refuses an instance past any of
 * these with a typed error (DicomLimitExceeded) before the cost is paid, so memory follows the limits, not the input.
 */
export interface ParseLimits {
  /** Bytes a Deflated Explicit VR Little Endian data set may inflate to (written to disk as it inflates, never held). */
  maxInflatedBytes: number;
  /** Attributes at every depth, each sequence item and each pixel-data fragment counted as one. */
  maxElementsPerInstance: number;
  /** Bytes of attribute values held in memory; binary values of BULK_VALUE_BYTES or more stay on disk and do not count. */
  maxInMemoryValueBytes: number;
}

export const DEFAULT_PARSE_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxInflatedBytes: 256 * 1024 ** 2,
  maxElementsPerInstance: 200_000,
  maxInMemoryValueBytes: 64 * 1024 ** 2,
});

/** Binary values at least this long, at any depth, are left in the file and referenced by offset. */
export const BULK_VALUE_BYTES = 64 * 1024;

export function parseLimitsOf(given: Partial<ParseLimits> | undefined): ParseLimits {
  return {
    maxInflatedBytes: given?.maxInflatedBytes ?? DEFAULT_PARSE_LIMITS.maxInflatedBytes,
    maxElementsPerInstance: given?.maxElementsPerInstance ?? DEFAULT_PARSE_LIMITS.maxElementsPerInstance,
    maxInMemoryValueBytes: given?.maxInMemoryValueBytes ?? DEFAULT_PARSE_LIMITS.maxInMemoryValueBytes,
  };
}
