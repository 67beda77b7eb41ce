// Its own file because both the error type and the Redactor need it (one importing the other
// would be a cycle).

export const REDACTED = '[redacted]';

/** `scheme://userinfo@` in any text; userinfo stops at characters a URL authority cannot hold. */
export const URL_USERINFO = /[A-Za-z][A-Za-z0-9+.-]*:\/\/([^\s/?#@"'<>\\]+)@/g;

/** `text` with the userinfo of every `scheme://user:pass@` replaced by `[redacted]`. */
export function redactUrlCredentials(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(URL_USERINFO, (m, userinfo: string) => m.slice(0, m.length - userinfo.length - 1) + `${REDACTED}@`);
}
