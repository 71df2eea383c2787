// Small edits of S3's XML answers, for the fault proxy's rewrite rules (s3-play.ts): enough for the
// flat elements of listings and Complete, not a general XML parser.

/** Removes every element `<name>…</name>` (and `<name/>`) from an XML answer. */
export function dropXmlElement(xml: string, name: string): string {
  return xml.replace(new RegExp(`<${name}>[^<]*</${name}>|<${name}\\s*/>`, 'g'), '');
}

/** Puts what `inner` gives for each `<parent>…</parent>` element just before its closing tag. */
export function insertIntoEach(xml: string, parent: string, inner: (element: string) => string): string {
  return xml.replace(new RegExp(`<${parent}>([\\s\\S]*?)</${parent}>`, 'g'), (whole, body: string) => `<${parent}>${body}${inner(whole)}</${parent}>`);
}

/** The text of the first `<name>` inside an XML fragment, or undefined. */
export function xmlText(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}
