import { CloakError } from '../lib/errors.ts'; // not lib/index.ts: the CLI imports this file for its help text

/**
 * How far one layer may expand when it is decompressed: against
 * decompression bombs (a few MB of gzip that inflate to gigabytes).
 */
export interface LayerLimits {
  /** Uncompressed bytes per layer. */
  maxSize: number;
  /** Uncompressed bytes per compressed byte, checked once a layer is past RATIO_FLOOR; 0 turns the ratio check off. */
  maxRatio: number;
}

/** Real layers inflate 2–10×; gzip's ceiling is about 1000×. */
export const DEFAULT_LAYER_LIMITS: LayerLimits = { maxSize: 16 * 1024 ** 3, maxRatio: 100 };

/** Up to this size any ratio is fine: small layers are mostly tar padding, which compresses far beyond 100×. */
export const RATIO_FLOOR = 64 * 1024 ** 2;

export const ENV_MAX_LAYER_SIZE = 'CLOAK_MAX_LAYER_SIZE';
export const ENV_MAX_LAYER_RATIO = 'CLOAK_MAX_LAYER_RATIO';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

/** A byte count such as `1048576`, `512MiB`, `2GiB` or `10G` (k/M/G/T decimal, Ki/Mi/Gi/Ti and KiB/MiB/GiB/TiB binary). */
export function parseByteSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const factor = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = factor === undefined ? NaN : Math.floor(Number(m![1]) * factor);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new CloakError(
      'USAGE_LAYER_LIMIT',
      `${what}: "${text.slice(0, 40)}" is not a size (bytes, or with a unit: 512MiB, 2GiB, 10G)`,
    );
  return n;
}

function parseRatio(text: string, what: string): number {
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(n))
    throw new CloakError(
      'USAGE_LAYER_LIMIT',
      `${what}: "${text.slice(0, 40)}" is not a ratio (a number such as 100, or 0 for no ratio limit)`,
    );
  return n;
}

/** The limits from flags, then `CLOAK_MAX_LAYER_SIZE` / `CLOAK_MAX_LAYER_RATIO`, then the defaults. */
export function layerLimitsFrom(
  flags: { maxLayerSize?: string; maxLayerRatio?: string },
  env: NodeJS.ProcessEnv = process.env,
): LayerLimits {
  const size = flags.maxLayerSize ?? env[ENV_MAX_LAYER_SIZE];
  const ratio = flags.maxLayerRatio ?? env[ENV_MAX_LAYER_RATIO];
  return {
    maxSize:
      size === undefined
        ? DEFAULT_LAYER_LIMITS.maxSize
        : parseByteSize(size, flags.maxLayerSize !== undefined ? '--max-layer-size' : ENV_MAX_LAYER_SIZE),
    maxRatio:
      ratio === undefined
        ? DEFAULT_LAYER_LIMITS.maxRatio
        : parseRatio(ratio, flags.maxLayerRatio !== undefined ? '--max-layer-ratio' : ENV_MAX_LAYER_RATIO),
  };
}

/** Counts a layer's uncompressed bytes and refuses, with OCI_LAYER_TOO_LARGE, the first chunk past the limits. */
export class ExpansionBudget {
  private total = 0;

  constructor(
    private readonly compressedSize: number,
    private readonly limits: LayerLimits,
    private readonly what: string,
  ) {}

  add(n: number): void {
    this.total += n;
    const { maxSize, maxRatio } = this.limits;
    if (this.total > maxSize)
      throw this.refuse(`${maxSize} bytes (--max-layer-size or ${ENV_MAX_LAYER_SIZE} raises it)`);
    if (maxRatio > 0 && this.total > RATIO_FLOOR && this.total > maxRatio * this.compressedSize) {
      throw this.refuse(
        `${maxRatio}× its ${this.compressedSize} compressed bytes (--max-layer-ratio or ${ENV_MAX_LAYER_RATIO} raises it)`,
      );
    }
  }

  private refuse(limit: string): CloakError {
    return new CloakError(
      'OCI_LAYER_TOO_LARGE',
      `${this.what} expands beyond ${limit}: refused as a possible decompression bomb`,
    );
  }
}
