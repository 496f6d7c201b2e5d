/** Settings shared by the registration part's processes. */
import type { MetadataCoreOptions } from '../../src/server/metadata/core';

/** The Registry settings of the brief (the NameServer's defaults). */
export const REGISTRY_OPTIONS: MetadataCoreOptions = {
  leaseTtlMs: 30_000,
  minLeaseTtlMs: 1_000,
  maxLeaseTtlMs: 300_000,
  streamGraceMs: 2_000,
  chunkTimeoutMs: 60_000,
};

/** In the memory layout every topic is held by this many replica sets (the realistic route). */
export const SETS_PER_TOPIC = 8;
