// Its own file because both the error type and the Redactor need it (one importing the other
// would be a cycle).

export const REDACTED = '[redacted]';

/**
 * `scheme://userinfo@` in any text. As in a WHATWG URL parser, the userinfo is everything up to
 * the LAST `@` of the authority (a password may hold a raw `@`, `'`, `"`, `<`, `\` and the like:
 * the parser percent-encodes them, a NATS or WebSocket client connects with them), and the
 * authority ends at `/`, `?` or `#`; in free text it also ends at whitespace. A URL without
 * credentials followed, with no space or slash between, by a later `@` (`"nats://h:1","x@y"`)
 * has that stretch masked too: masking too much garbles a message, masking too little leaks a
 * password.
 */
export const URL_USERINFO = /[A-Za-z][A-Za-z0-9+.-]*:\/\/([^\s/?#]+)@/g;

/** `text` with the userinfo of every `scheme://user:pass@` replaced by `[redacted]`. */
export function redactUrlCredentials(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(URL_USERINFO, (m, userinfo: string) => m.slice(0, m.length - userinfo.length - 1) + `${REDACTED}@`);
}
