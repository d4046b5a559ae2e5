// Bounds-checked reading of the protobuf wire format, for bytes from a peer
// we do not trust (a request on the server, a reply on the client).
//
// google-protobuf's reader checks no declared length against the bytes that
// follow: its readString loops over the declared length, so a few bytes
// declaring a 4 GB string keep the event loop busy for tens of seconds. And a
// UTF-8 lead byte at a string's end makes it read on past the string, leaving
// it parsing the following bytes from the wrong offset, where a length the
// checker never saw can sit. So untrusted bytes are walked here first
// (checkWireFormat, with the message's shape), or decoded here outright
// (event-decode.ts), with google-protobuf's own number semantics (readerFor).

/** How a field is encoded: a scalar kind, or a nested message's shape. */
export type FieldKind = 'varint' | 'fixed64' | 'fixed32' | 'string' | 'bytes' | MessageShape;

/** A message's known fields: number -> [proto name, kind]. Unknown numbers are skipped. */
export interface MessageShape {
  readonly name: string;
  readonly fields: ReadonlyMap<number, readonly [string, FieldKind]>;
}

export class WireFormatError extends Error {}

const WIRE_TYPE: Record<Exclude<FieldKind, MessageShape>, number> = {
  varint: 0,
  fixed64: 1,
  fixed32: 5,
  string: 2,
  bytes: 2,
};

export function wireTypeOf(kind: FieldKind): number {
  return typeof kind === 'string' ? WIRE_TYPE[kind] : 2;
}

/**
 * A cursor over `b` that never reads at or past the `end` it is given. A
 * varint leaves its low and high 32 bits in lo/hi (as google-protobuf splits
 * them) and whether it took more than 5 bytes in `long`.
 */
export class WireReader {
  pos: number;
  lo = 0;
  hi = 0;
  long = false;

  constructor(
    readonly b: Uint8Array,
    pos = 0,
  ) {
    this.pos = pos;
  }

  /** Reads one varint below `end`; `path` names the field in the error. */
  varint(end: number, path: string): void {
    const b = this.b;
    let p = this.pos;
    if (p < end) {
      const x = b[p] as number;
      if (x < 0x80) {
        this.lo = x;
        this.hi = 0;
        this.long = false;
        this.pos = p + 1;
        return;
      }
    }
    // google-protobuf's readSplitVarint64, bounds-checked.
    let lo = 0;
    let hi = 0;
    let x = 0x80;
    let n = 0;
    for (; n < 4 && x >= 0x80; n++) {
      if (p >= end) throw new WireFormatError(`${path}: truncated varint`);
      x = b[p++] as number;
      lo |= (x & 0x7f) << (7 * n);
    }
    if (x >= 0x80) {
      if (p >= end) throw new WireFormatError(`${path}: truncated varint`);
      x = b[p++] as number;
      lo |= (x & 0x7f) << 28;
      hi |= (x & 0x7f) >> 4;
      n++;
    }
    for (let f = 0; f < 5 && x >= 0x80; f++, n++) {
      if (p >= end) throw new WireFormatError(`${path}: truncated varint`);
      x = b[p++] as number;
      hi |= (x & 0x7f) << (7 * f + 3);
    }
    if (x >= 0x80) throw new WireFormatError(`${path}: varint longer than 10 bytes`);
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.long = n > 5;
    this.pos = p;
  }

  /** readUint32 (and a tag, a length): the low 32 bits, signed when the varint ran past 5 bytes. */
  u32(end: number, path: string): number {
    this.varint(end, path);
    return this.long ? this.lo | 0 : this.lo;
  }

  /** readUint64: hi * 2^32 + lo (rounded past 2^53, as google-protobuf does). */
  u64(end: number, path: string): number {
    this.varint(end, path);
    return this.hi * 4294967296 + this.lo;
  }

  /** readInt64 and readEnum: two's complement over 64 bits. */
  i64(end: number, path: string): number {
    this.varint(end, path);
    let lo = this.lo;
    let hi = this.hi;
    if (hi < 0x80000000) return hi * 4294967296 + lo;
    lo = (~lo + 1) >>> 0;
    hi = ~hi >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
    return -(hi * 4294967296 + lo);
  }

  /** readInt32: ~~readUint32. */
  i32(end: number, path: string): number {
    this.varint(end, path);
    return this.lo | 0;
  }

  /**
   * A length-delimited field's length: it must fit before `end`. Returns the
   * field's end offset; pos is at its first byte.
   */
  length(end: number, path: string): number {
    this.varint(end, path);
    const remain = end - this.pos;
    if (this.hi !== 0 || this.lo > remain) {
      throw new WireFormatError(`${path} declares ${this.hi * 4294967296 + this.lo} bytes, ${remain} remain`);
    }
    return this.pos + this.lo;
  }

  /** Skips a field of wire type `wt` (0, 1, 2 or 5; groups are refused). */
  skip(wt: number, end: number, path: string): void {
    if (wt === 0) {
      this.varint(end, path);
      return;
    }
    if (wt === 2) {
      this.pos = this.length(end, path);
      return;
    }
    const width = wt === 1 ? 8 : wt === 5 ? 4 : -1;
    if (width < 0) throw new WireFormatError(`${path}: wire type ${wt} is not used by prober.v1`);
    if (width > end - this.pos) throw new WireFormatError(`${path} declares ${width} bytes, ${end - this.pos} remain`);
    this.pos += width;
  }
}

/**
 * A string's bytes stepped as google-protobuf's readString steps them (a lead
 * byte takes its continuation bytes whatever they are); the last sequence
 * must end with the string, or google-protobuf would read past it.
 */
export function checkUtf8Steps(b: Uint8Array, start: number, end: number, path: string): void {
  let i = start;
  while (i < end) {
    const h = b[i] as number;
    i += h < 0xc0 || h >= 0xf8 ? 1 : h < 0xe0 ? 2 : h < 0xf0 ? 3 : 4;
  }
  if (i !== end) throw new WireFormatError(`${path}: a UTF-8 sequence runs past the end of the string`);
}

/**
 * Walks one message in b[start, end) against its shape: every length and
 * fixed width fits, a known field has its kind's wire type, a string's UTF-8
 * steps end with it, and a message field is walked within its own length.
 * Errors name the field by number path and name: `field 20.1 (headers.name)`.
 */
export function checkWireFormat(
  b: Uint8Array,
  start: number,
  end: number,
  shape: MessageShape,
  numPath = '',
  namePath = '',
): void {
  const r = new WireReader(b, start);
  while (r.pos < end) {
    const tag = r.u32(end, numPath === '' ? 'tag' : `field ${numPath}tag`) >>> 0;
    const num = tag >>> 3;
    const wt = tag & 7;
    const known = shape.fields.get(num);
    const path = `field ${numPath}${num}`;
    if (known === undefined) {
      r.skip(wt, end, path);
      continue;
    }
    const [name, kind] = known;
    const named = `${path} (${namePath}${name})`;
    if (wt !== wireTypeOf(kind)) throw new WireFormatError(`${named}: wire type ${wt}, expected ${wireTypeOf(kind)}`);
    if (wt !== 2) {
      r.skip(wt, end, named);
      continue;
    }
    const fieldEnd = r.length(end, named);
    const at = r.pos;
    if (typeof kind === 'object') checkWireFormat(b, at, fieldEnd, kind, `${numPath}${num}.`, `${namePath}${name}.`);
    else if (kind === 'string') checkUtf8Steps(b, at, fieldEnd, named);
    r.pos = fieldEnd;
  }
}
