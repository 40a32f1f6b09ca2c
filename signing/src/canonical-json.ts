/**
 * Canonical JSON in the spirit of RFC 8785 (JCS): object keys sorted by UTF-16 code units (§3.2.3),
 * no whitespace, strings and numbers serialized as ECMAScript's JSON.stringify does (§3.2.2.2,
 * §3.2.2.3). These exact bytes are what a release statement's signatures cover.
 *
 * Object properties whose value is `undefined` are left out (optional fields); anything that has no
 * JSON form (NaN, Infinity, bigint, functions, undefined in arrays, cycles, class instances such as Date) is a programming error
 * and throws a TypeError.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, new Set());
}

function serialize(value: unknown, stack: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
  const obj = value as object;
  if (stack.has(obj)) throw new TypeError('canonicalJson: cyclic structure');
  stack.add(obj);
  try {
    if (Array.isArray(obj)) {
      return `[${obj
        .map((item: unknown) => {
          if (item === undefined) throw new TypeError('canonicalJson: undefined inside an array');
          return serialize(item, stack);
        })
        .join(',')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(obj);
    // Dates, Buffers, Maps… have no single JSON form here: convert them before canonicalizing.
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError('canonicalJson: only plain objects and arrays are allowed');
    }
    const record = obj as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${serialize(record[k], stack)}`).join(',')}}`;
  } finally {
    stack.delete(obj);
  }
}
