// A minimal protobuf wire-format reader for tests: splits a message into its fields without a schema.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export type WireField =
  | { readonly number: number; readonly wireType: typeof WIRE_VARINT; readonly value: bigint }
  | { readonly number: number; readonly wireType: typeof WIRE_FIXED64; readonly value: bigint }
  | { readonly number: number; readonly wireType: typeof WIRE_LEN; readonly value: Uint8Array }
  | { readonly number: number; readonly wireType: typeof WIRE_FIXED32; readonly value: number };

export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}

/** A base-128 varint at `offset`, as an unsigned 64-bit value, and the offset after it. */
export function readVarint(bytes: Uint8Array, offset: number): { readonly value: bigint; readonly next: number } {
  let value = 0n;
  let shift = 0n;
  let at = offset;
  for (let i = 0; i < 10; i++) {
    const byte = bytes[at];
    if (byte === undefined) throw new WireFormatError(`truncated varint at byte ${offset}`);
    at++;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value: BigInt.asUintN(64, value), next: at };
    shift += 7n;
  }
  throw new WireFormatError(`varint longer than 10 bytes at byte ${offset}`);
}

/** Every field of one message, in wire order (repeated fields appear once per occurrence). */
export function readFields(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    const tag = readVarint(bytes, at);
    at = tag.next;
    const number = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    if (number === 0) throw new WireFormatError(`field number 0 at byte ${at}`);
    switch (wireType) {
      case WIRE_VARINT: {
        const varint = readVarint(bytes, at);
        at = varint.next;
        fields.push({ number, wireType, value: varint.value });
        break;
      }
      case WIRE_FIXED64: {
        if (at + 8 > bytes.length) throw new WireFormatError(`truncated fixed64 field ${number}`);
        fields.push({ number, wireType, value: view.getBigUint64(at, true) });
        at += 8;
        break;
      }
      case WIRE_LEN: {
        const length = readVarint(bytes, at);
        at = length.next;
        const end = at + Number(length.value);
        if (end > bytes.length) throw new WireFormatError(`length-delimited field ${number} runs past the end (${end} > ${bytes.length})`);
        fields.push({ number, wireType, value: bytes.subarray(at, end) });
        at = end;
        break;
      }
      case WIRE_FIXED32: {
        if (at + 4 > bytes.length) throw new WireFormatError(`truncated fixed32 field ${number}`);
        fields.push({ number, wireType, value: view.getUint32(at, true) });
        at += 4;
        break;
      }
      default:
        throw new WireFormatError(`unsupported wire type ${wireType} (field ${number})`);
    }
  }
  return fields;
}

function wrongType(field: WireField, wanted: string): WireFormatError {
  return new WireFormatError(`field ${field.number}: expected ${wanted}, got wire type ${field.wireType}`);
}

export function asVarint(field: WireField): bigint {
  if (field.wireType !== WIRE_VARINT) throw wrongType(field, 'varint');
  return field.value;
}

export function asFixed64(field: WireField): bigint {
  if (field.wireType !== WIRE_FIXED64) throw wrongType(field, 'fixed64');
  return field.value;
}

export function asFixed32(field: WireField): number {
  if (field.wireType !== WIRE_FIXED32) throw wrongType(field, 'fixed32');
  return field.value;
}

export function asBytes(field: WireField): Uint8Array {
  if (field.wireType !== WIRE_LEN) throw wrongType(field, 'length-delimited');
  return field.value;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function asString(field: WireField): string {
  return UTF8.decode(asBytes(field));
}

/** A `double` travels as fixed64: reinterpret its bits. */
export function asDouble(field: WireField): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, asFixed64(field), true);
  return view.getFloat64(0, true);
}

/** An `int64`/`int32` varint, two's complement (not zigzag). */
export function asInt64(field: WireField): bigint {
  return BigInt.asIntN(64, asVarint(field));
}
