import { TOKEN } from './charset.ts';
import { HeaderScanner, quoteIfNeeded } from './header-scanner.ts';
import { Parameters } from './parameters.ts';
import { AbsoluteUri, checkUri, parseUri, type Uri } from './uri.ts';

/**
 * name-addr / addr-spec with header parameters, as in From, To, Contact, Route, Record-Route,
 * Path (RFC 3261 §20.10, §25.1). Without angle brackets, everything after the first ";" is a
 * header parameter, never a URI parameter.
 */
export class NameAddress {
  private parsedUri: Uri | null;
  /** The URI as written, checked but not yet parsed (From and To: see parseNameAddress's lazyUri). */
  private uriText: string | null = null;

  constructor(
    uri: Uri,
    public displayName: string | null = null,
    public params: Parameters = new Parameters(),
  ) {
    this.parsedUri = uri;
  }

  /** A name-addr whose URI text was checked by checkUri: it is parsed when first read. */
  static withUriText(uriText: string, displayName: string | null, params: Parameters): NameAddress {
    const address = new NameAddress(PENDING, displayName, params);
    address.parsedUri = null;
    address.uriText = uriText;
    return address;
  }

  get uri(): Uri {
    if (this.parsedUri === null) {
      this.parsedUri = parseUri(this.uriText as string);
      this.uriText = null;
    }
    return this.parsedUri;
  }

  set uri(uri: Uri) {
    this.parsedUri = uri;
    this.uriText = null;
  }

  get tag(): string | undefined {
    const t = this.params.get('tag');
    return t === null ? undefined : t;
  }

  set tag(value: string | undefined) {
    if (value === undefined) this.params.delete('tag');
    else this.params.set('tag', value);
  }

  clone(): NameAddress {
    return new NameAddress(this.uri.clone(), this.displayName, this.params.clone());
  }

  toString(): string {
    const name = this.displayName !== null && this.displayName.length > 0 ? quoteIfNeeded(this.displayName) + ' ' : '';
    return `${name}<${this.uri.toString()}>${this.params.toString()}`;
  }
}

/** Parses one element (already split from a list) of a name-addr header. */
export function parseNameAddress(value: string, what: string, lazyUri = false): NameAddress {
  const sc = new HeaderScanner(value, what);
  sc.skipWs();
  let displayName: string | null = null;
  let bracketed = false;
  if (sc.peek() === 34 /* " */) {
    displayName = sc.quoted();
    sc.skipWs();
    bracketed = true;
  } else {
    // display-name = *(token LWS): read tokens until "<"; anything else means an addr-spec.
    // Words are joined by single spaces; the common one-word name is sliced once, not joined.
    const start = sc.i;
    let first: string | null = null;
    let words: string[] | null = null;
    for (;;) {
      sc.skipWs();
      const c = sc.peek();
      if (c === 60 /* < */) {
        bracketed = true;
        break;
      }
      if (c < 0 || c > 255 || TOKEN[c] === 0) break;
      const word = sc.token();
      if (first === null) first = word;
      else (words ??= [first]).push(word);
    }
    if (bracketed) displayName = words !== null ? words.join(' ') : first;
    else sc.i = start;
  }
  let uriText: string;
  if (bracketed) {
    sc.expect(60, '"<"');
    const close = value.indexOf('>', sc.i);
    if (close < 0) sc.fail('missing ">"');
    uriText = value.slice(sc.i, close);
    sc.i = close + 1;
  } else {
    const start = sc.i;
    while (sc.i < sc.end) {
      const c = value.charCodeAt(sc.i);
      if (c === 59 || c === 32 || c === 9) break;
      // RFC 3261 §20.10: a URI with "," "?" or ";" must be enclosed in angle brackets
      if (c === 44 || c === 63) sc.fail('addr-spec needs angle brackets');
      sc.i++;
    }
    uriText = value.slice(start, sc.i);
  }
  // checked (or parsed) before the parameters, so that errors come in the order they are written
  const uri = lazyUri ? (checkUri(uriText), null) : parseUri(uriText);
  const params = sc.params();
  sc.skipWs();
  if (!sc.atEnd()) sc.fail(`unexpected ${JSON.stringify(value[sc.i])}`);
  return uri === null ? NameAddress.withUriText(uriText, displayName, params) : new NameAddress(uri, displayName, params);
}

/** Stands in for the URI of a name-addr made by withUriText until it is parsed; never read. */
const PENDING = new AbsoluteUri('pending', '');
