// Protobuf wire-format pieces as byte arrays, for tests that write messages
// (well-formed or not) by hand.

/** An unsigned integer as a varint (exact up to 2^53). */
export const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
};

/** A field's tag: its number and wire type. */
export const tag = (n: number, wireType: number): number[] => varint(n * 8 + wireType);

/** A length-delimited field (string, bytes, message). */
export const ld = (n: number, body: readonly number[] | Uint8Array): number[] => [
  ...tag(n, 2),
  ...varint(body.length),
  ...body,
];
