import { MinerhaulError, type ErrorCode } from './errors';

// Framing of every signify file (protocol-reference §4.1, signify.c parseb64file/createheader).
export const COMMENT_HEADER = 'untrusted comment: ';
/** signify copies the comment into a 1024-byte buffer with strlcpy: at most 1023 bytes fit. */
export const COMMENT_MAX_BYTES = 1023;
/** Every signify struct starts with the algorithm id "Ed" (PKALG). */
export const PKALG = Buffer.from('Ed', 'latin1');
/** signify reads key and signature files into a 2048-byte buffer; anything larger is not one of them. */
export const MAX_KEY_FILE_BYTES = 2048;

export interface SignifyFile {
  comment: string;
  /** The decoded struct, exactly the expected length, starting with "Ed". */
  data: Buffer;
  /** Bytes after the second line: the message of an embedded (-e) signature, else empty. */
  rest: Buffer;
}

/**
 * Parses the two framing lines of a signify file. `what` names the file kind in messages and
 * `code` is the error code for every framing failure (E_KEY for keys, E_SIGNATURE for signatures).
 */
export function parseSignifyFile(
  input: string | Buffer,
  structLength: number,
  what: string,
  code: ErrorCode,
): SignifyFile {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const fail = (reason: string): never => {
    throw new MinerhaulError(code, `${what}: ${reason}`);
  };
  const firstNewline = bytes.indexOf(0x0a);
  if (firstNewline < 0) fail('missing the untrusted comment line');
  const commentLine = stripCr(bytes.subarray(0, firstNewline));
  const header = Buffer.from(COMMENT_HEADER, 'latin1');
  // signify refuses an empty comment too (commentend - b64 <= COMMENTHDRLEN).
  if (commentLine.length <= header.length || !commentLine.subarray(0, header.length).equals(header)) {
    fail(`invalid comment; must start with '${COMMENT_HEADER}'`);
  }
  const comment = commentLine.subarray(header.length);
  if (comment.length > COMMENT_MAX_BYTES) fail('comment too long');
  let secondNewline = bytes.indexOf(0x0a, firstNewline + 1);
  // Key files handed over as config strings often lose their final newline; signatures never do.
  if (secondNewline < 0 && code === 'E_KEY') secondNewline = bytes.length;
  if (secondNewline < 0) fail('missing new line after base64');
  const b64 = stripCr(bytes.subarray(firstNewline + 1, secondNewline)).toString('latin1');
  const data = decodeStruct(b64, structLength, what, code);
  return {
    comment: comment.toString('utf8'),
    data,
    rest: bytes.subarray(Math.min(secondNewline + 1, bytes.length)),
  };
}

/**
 * Decodes the base64 line strictly: exact length, canonical alphabet and padding (Node's decoder
 * silently skips junk), then checks the "Ed" algorithm id.
 */
export function decodeStruct(b64: string, structLength: number, what: string, code: ErrorCode): Buffer {
  const expectedChars = Math.ceil(structLength / 3) * 4;
  const data = Buffer.from(b64, 'base64');
  if (b64.length !== expectedChars || data.length !== structLength || data.toString('base64') !== b64) {
    throw new MinerhaulError(code, `${what}: unable to parse base64 (expected ${structLength} bytes)`);
  }
  if (!data.subarray(0, 2).equals(PKALG)) {
    throw new MinerhaulError(code, `${what}: unsupported algorithm (expected "Ed")`);
  }
  return data;
}

/** Writes the two framing lines (signify createheader + base64 + newline). */
export function formatSignifyFile(comment: string, data: Buffer): string {
  checkComment(comment);
  return `${COMMENT_HEADER}${comment}\n${data.toString('base64')}\n`;
}

/** A comment must fit signify's buffer and stay on one line. */
export function checkComment(comment: string): void {
  if (comment.length === 0) throw new MinerhaulError('E_CONFIG', 'comment must not be empty');
  if (/[\r\n]/.test(comment)) throw new MinerhaulError('E_CONFIG', 'comment must be a single line');
  if (Buffer.byteLength(comment, 'utf8') > COMMENT_MAX_BYTES) {
    throw new MinerhaulError('E_CONFIG', `comment too long (at most ${COMMENT_MAX_BYTES} bytes)`);
  }
}

function stripCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
}
