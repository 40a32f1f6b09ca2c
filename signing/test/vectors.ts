// Test vectors of protocol-reference §4.6 (upstream signify regress, and a key made by Debian's
// signify-openbsd with passphrase "correct horse").
export const REGRESS = {
  publicKey:
    'untrusted comment: signify public key\nRWTAeKJJ1MTF3YCo0ivtKH8kuiFWJuLpNoUmpDd6iTFYhn6/tRu5qKJe\n',
  secretKey:
    'untrusted comment: signify secret key\n' +
    'RWRCSwAAAAASS6/J8yiU/PaMmMhlV4zqjMh4FlqOsG3AeKJJ1MTF3UpTLTAaUkS15G97BU/C+X2UCcR2fNfG68/1NpK0bh0pgKjSK+0ofyS6IVYm4uk2hSakN3qJMViGfr+1G7mool4=\n',
  message: Buffer.from('Attack at dawn!\n'),
  signatureB64:
    'RWTAeKJJ1MTF3UpxzBCu6NaM6HPJNTj5CZ+M5XNJKNeEHBLQSsstzHGbSo8rPYNgw3Z98pN7WKiIwBIyRrKuIdKBRA6qlaci6wI=',
  keyNumberHex: 'c078a249d4c4c5dd',
};

export const HORSE = {
  passphrase: 'correct horse',
  publicKey:
    'untrusted comment: horse public key\nRWQbQLEihd4Uu1Czyj8yMYMwnEWsH5hpk7pn/R2iPYUzrqQnhJlTRRUi\n',
  secretKey:
    'untrusted comment: horse secret key\n' +
    'RWRCSwAAACplWGcV5NP9kBHwVWEaDswyxzUi6aHgWr0bQLEihd4Uu5qKg/s6cyBkQxEDQrZUJxB4VZfJrh80Cc8+VSml6umYB9WxS7n2J4OsTYFkiWGNm/gsFyEBQjZQeM/g3IJjBXc=\n',
  message: Buffer.from('hello\n'),
  signatureB64:
    'RWQbQLEihd4UuxIv0bNNPjtBhUYt5sbuWwzXxS8drF5Ja91w4xnq6z1eMOvmH8GVAAcx3qJ6QlCvC9DH0bFhY7aUMUK8HsXWDg8=',
};

export function sigFile(b64: string, comment = 'verify with test.pub'): string {
  return `untrusted comment: ${comment}\n${b64}\n`;
}

/** Runs fn and returns the MinerhaulError code it threw (or 'no error'). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? `not a MinerhaulError: ${String(err)}`;
  }
  return 'no error';
}
