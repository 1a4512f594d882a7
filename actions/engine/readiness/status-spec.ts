/** Which HTTP statuses count as ready, parsed from '200', '200,204', '200-299', '2xx' or a mix. */
export interface StatusSpec {
  matches(status: number): boolean;
  /** Canonical text for messages, e.g. `200` or `200-299, 304`. */
  text: string;
}

export const STATUS_SPEC_EXAMPLES = '200, 200,204, 200-299 or 2xx';

const SINGLE = /^[1-5]\d\d$/;
const RANGE = /^([1-5]\d\d)-([1-5]\d\d)$/;
const CLASS = /^([1-5])xx$/i;

/** Parses a status spec; throws an Error explaining the syntax when it is not one. */
export function parseStatusSpec(raw: string): StatusSpec {
  const parts = raw
    .replace(/\s*-\s*/g, '-')
    .split(/[\s,]+/)
    .filter(Boolean);
  if (parts.length === 0) throw new Error(`expected a status such as ${STATUS_SPEC_EXAMPLES}, got nothing`);
  const ranges: Array<[number, number]> = [];
  for (const part of parts) {
    const range = toRange(part);
    if (!range)
      throw new Error(`expected a status such as ${STATUS_SPEC_EXAMPLES}, got ${JSON.stringify(part)}`);
    if (range[0] > range[1])
      throw new Error(`the range ${JSON.stringify(part)} is empty: write the lower status first`);
    ranges.push(range);
  }
  return {
    matches: (status) => ranges.some(([low, high]) => status >= low && status <= high),
    text: ranges.map(([low, high]) => (low === high ? `${low}` : `${low}-${high}`)).join(', '),
  };
}

function toRange(part: string): [number, number] | undefined {
  if (SINGLE.test(part)) return [Number(part), Number(part)];
  const range = RANGE.exec(part);
  if (range) return [Number(range[1]), Number(range[2])];
  const statusClass = CLASS.exec(part);
  if (statusClass) return [Number(statusClass[1]) * 100, Number(statusClass[1]) * 100 + 99];
  return undefined;
}
