/**
 * Paths into a delivery's JSON body, written the way trigger templates and
 * `textFieldPath` address them (`pull_request.labels.0.name`): names match
 * [A-Za-z_][A-Za-z0-9_-]*, array elements are their index.
 */

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const INDEX = /^\d+$/;

export type PathSegment = string | number;

/** True when every segment can be written in a path (a key like "user name" or "a.b" cannot). */
export function isAddressable(segments: readonly PathSegment[]): boolean {
  return segments.length > 0 && segments.every((segment, position) => (typeof segment === 'number' ? position > 0 : NAME.test(segment) || (position > 0 && INDEX.test(segment))));
}

export function pathText(segments: readonly PathSegment[]): string {
  return segments.map(String).join('.');
}

/** `{{payload.a.b}}`, ready to insert into a prompt template. */
export function placeholderFor(segments: readonly PathSegment[]): string {
  return `{{payload.${pathText(segments)}}}`;
}
