/** Defaults for the decompression-bomb caps (docs/decisions/0303). */
export const DEFAULT_MAX_LAYER_BYTES = 16 * 1024 ** 3;
export const DEFAULT_MAX_RATIO = 250;
/** The ratio is only judged past this many uncompressed bytes: tiny layers compress absurdly well. */
export const RATIO_FLOOR_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_ENTRIES = 1_000_000;
/** Cap on a PAX or GNU long-name record; real ones are a few hundred bytes. */
export const MAX_META_BYTES = 1024 * 1024;
