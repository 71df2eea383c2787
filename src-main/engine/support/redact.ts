// Takes secrets out of what a diagnostics file carries (issue 14): the values Hoist knows to be
// secret (saved credentials, the environment's AWS secret key and session token, the folders'
// webhook signing secrets) wherever they appear, a webhook URL's path and query (a chat webhook's
// path is its token), and by their shape: passwords in URLs, tokens and signatures in query
// strings, `whsec_` secrets, `aws_secret_access_key = …` lines.
const REDACTED = '[redacted]';

/** Query parameters that carry a credential (S3 presigned URLs, the host's own `?token=`). */
const SECRET_PARAMS = /([?&](?:token|access_token|secret|password|passwd|pwd|key|api_key|apikey|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s"'<>]*/gi;
/** `scheme://user:password@` */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>]*:)[^\s@/"'<>]+@/gi;
const WEBHOOK_SECRET = /\bwhsec_[A-Za-z0-9_-]{8,}/g;
const KEY_LINES = /\b(aws_secret_access_key|aws_session_token|secretAccessKey|sessionToken|secret_key|password)(["']?\s*[:=]\s*["']?)[^\s"',}]+/gi;

/** A webhook URL as diagnostics show it: its origin only, since the path and query may be its token. */
export function urlOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' && u.search === '' ? '/' : '/…'}`;
  } catch {
    return REDACTED;
  }
}

export class Redactor {
  private readonly known: Array<{ value: string; replacement: string }> = [];

  /** A value to replace wherever it appears (values under 6 characters are too common to replace blindly, and are not secrets Hoist makes). */
  secret(value: string | null | undefined, replacement = REDACTED): this {
    if (value && value.length >= 6 && !this.known.some((k) => k.value === value)) this.known.push({ value, replacement });
    // Longest first: a secret that contains another is replaced whole.
    this.known.sort((a, b) => b.value.length - a.value.length);
    return this;
  }

  /** A webhook URL: replaced by its origin wherever it appears. */
  webhookUrl(url: string | null | undefined): this {
    return url ? this.secret(url, urlOrigin(url)) : this;
  }

  text(s: string): string {
    let out = s;
    for (const k of this.known) out = out.split(k.value).join(k.replacement);
    return out
      .replace(URL_PASSWORD, `$1${REDACTED}@`)
      .replace(SECRET_PARAMS, `$1${REDACTED}`)
      .replace(WEBHOOK_SECRET, `whsec_${REDACTED}`)
      .replace(KEY_LINES, `$1$2${REDACTED}`);
  }
}
