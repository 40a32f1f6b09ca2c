export interface Challenge {
  /** Lower-cased auth scheme, e.g. `bearer` or `basic`. */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parse a WWW-Authenticate value per RFC 7235 §4.1: several challenges may share one header, and
 * quoted strings may hold commas, spaces and escaped quotes. Param names are lower-cased.
 */
export function parseWwwAuthenticate(value: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const n = value.length;
  const skip = (re: RegExp): void => {
    while (i < n && re.test(value.charAt(i))) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(value.charAt(i))) i++;
    return value.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skip(/[\s,]/);
    const start = i;
    const name = token();
    if (!name) {
      i++;
      continue;
    }
    skip(/[ \t]/);
    if (value.charAt(i) === '=' && current) {
      i++;
      skip(/[ \t]/);
      let param: string;
      if (value.charAt(i) === '"') {
        i++;
        param = '';
        while (i < n && value.charAt(i) !== '"') {
          if (value.charAt(i) === '\\' && i + 1 < n) i++;
          param += value.charAt(i);
          i++;
        }
        i++;
      } else {
        // Lenient: servers send unquoted URLs, which are not RFC 7230 tokens.
        const begin = i;
        while (i < n && !/[\s,]/.test(value.charAt(i))) i++;
        param = value.slice(begin, i);
      }
      current.params[name.toLowerCase()] = param;
    } else if (value.charAt(i) === '=' && !current) {
      // A parameter before any scheme: malformed, skip it.
      i = start + name.length + 1;
      token();
    } else {
      current = { scheme: name.toLowerCase(), params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}
