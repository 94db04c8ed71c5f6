// Reads an awsJson1_1 request body field by field, answering bad input with the service's error codes.
import { invalidParameter, ServiceError } from './wire.ts';

export type JsonObject = Readonly<Record<string, unknown>>;

export function parseBody(raw: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw new ServiceError('SerializationException', 'Start of structure or map found where not expected.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ServiceError('SerializationException', 'Start of structure or map found where not expected.');
  }
  return parsed as JsonObject;
}

// Validation failures carry the same "1 validation error detected" wording as the service.
function constraint(key: string, value: unknown, rule: string): ServiceError {
  return invalidParameter(
    `1 validation error detected: Value '${String(value)}' at '${key}' failed to satisfy constraint: ${rule}`,
  );
}

export function optString(input: JsonObject, key: string, maxLength = Infinity): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw constraint(key, value, 'Member must be a string');
  if (value.length > maxLength) {
    throw constraint(key, value, `Member must have length less than or equal to ${maxLength}`);
  }
  return value;
}

export function optInteger(input: JsonObject, key: string, min: number, max: number): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw constraint(key, value, 'Member must be an integer');
  if (value < min) throw constraint(key, value, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw constraint(key, value, `Member must have value less than or equal to ${max}`);
  return value;
}

export function optStringList(input: JsonObject, key: string, minItems: number, maxItems: number): string[] | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
    throw constraint(key, value, 'Member must be a list of strings');
  }
  if (value.length < minItems) throw constraint(key, value, `Member must have length greater than or equal to ${minItems}`);
  if (value.length > maxItems) throw constraint(key, value, `Member must have length less than or equal to ${maxItems}`);
  return value;
}
