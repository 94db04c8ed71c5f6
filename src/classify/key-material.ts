// Reads what ImportKeyMaterial says about the expiry of the imported material (requestParameters.expirationModel, validTo).

import { parseDeletionDate } from './deletion-date.ts';

/** The imported material's expiry as the request states it; `validTo` undefined when it expires but the date is unreadable. */
export type KeyMaterialExpiry = { readonly expires: false } | { readonly expires: true; readonly validTo: number | undefined };

/** The latest instant a JavaScript Date can hold: anything past it is not a date (and would not survive a checkpoint). */
const MAX_DATE_MS = 8.64e15;

/**
 * `validTo` is written like the deletion date ("Jan 1, 2027 8:00:00 PM"). Without an
 * expirationModel, a validTo means it expires (KEY_MATERIAL_EXPIRES requires one) and its
 * absence means it does not; a model we do not know says nothing (undefined).
 */
export function readKeyMaterialExpiry(request: Readonly<Record<string, unknown>>): KeyMaterialExpiry | undefined {
  const model = request['expirationModel'];
  const parsed = parseDeletionDate(request['validTo']);
  const validTo = parsed !== undefined && parsed <= MAX_DATE_MS ? parsed : undefined;
  if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE') return { expires: false };
  if (model === 'KEY_MATERIAL_EXPIRES') return { expires: true, validTo };
  if (model === undefined || model === null) return request['validTo'] === undefined || request['validTo'] === null ? { expires: false } : { expires: true, validTo };
  return undefined;
}
