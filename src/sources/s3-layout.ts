// Which keys of a CloudTrail S3 archive a replay reads, walked level by level so nothing outside the selection is listed.
//
// The layout is ROOT AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE. A level the selection fixes (the
// accounts, the regions, the days of a --from/--to range) is built; a level it does not fix but something below it
// does is listed with Delimiter '/', which returns only that level's names; below the last level the selection fixes,
// everything is selected and one flat listing (pages of 1,000 keys) reads it. Keys come out in S3's order, the order of
// one flat listing: the folders of a level are disjoint ranges of that order, visited in it.

/** What --trail-accounts, --trail-regions and --from/--to select; an absent field selects everything. */
export interface TrailSelection {
  /** 12-digit account ids. */
  readonly accounts?: readonly string[];
  readonly regions?: readonly string[];
  /** YYYY-MM-DD, inclusive. */
  readonly from?: string;
  /** YYYY-MM-DD, inclusive. */
  readonly to?: string;
}

/** The ListObjectsV2 request and answer, as much of them as the walk uses. */
export interface ListingRequest {
  readonly Prefix: string;
  readonly Delimiter?: string;
  readonly StartAfter?: string;
  readonly ContinuationToken?: string;
}

export interface ListingPage {
  readonly Contents?: readonly { readonly Key?: string | undefined; readonly Size?: number | undefined }[] | undefined;
  readonly CommonPrefixes?: readonly { readonly Prefix?: string | undefined }[] | undefined;
  readonly IsTruncated?: boolean | undefined;
  readonly NextContinuationToken?: string | undefined;
}

export type ListObjects = (request: ListingRequest) => Promise<ListingPage>;

/** A CloudTrail log file: gzipped JSON, not a digest file (those are .json.gz too, under CloudTrail-Digest/). */
export function isLogFileKey(key: string): boolean {
  return key.endsWith('.json.gz') && !key.includes('/CloudTrail-Digest/');
}

const ORG = /^o-[a-z0-9]{10,32}$/;
const ACCOUNT = /^\d{12}$/;
/** Lenient on purpose: a region AWS opens tomorrow must not be skipped by a syntax we wrote today. */
const REGION = /^[a-z0-9-]+$/;
/** A last segment taken as a whole region (its folder) rather than the start of region names: us-east-1, not us- or eu-west. */
const WHOLE_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const YEAR = /^\d{4}$/;
const TWO_DIGITS = /^\d{2}$/;
const LAYOUT_TAIL = String.raw`AWSLogs/(?:o-[a-z0-9]{10,32}/)?(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/.+$`;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether a selection selects anything less than everything (no selection: every log file, in the layout or not). */
export function selectsAll(selection: TrailSelection): boolean {
  return selection.accounts === undefined && selection.regions === undefined && selection.from === undefined && selection.to === undefined;
}

const lastDayOfMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** YYYY-MM-DD of a real calendar day, or undefined. */
function calendarDay(year: string, month: string, day: string): string | undefined {
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1 || d > lastDayOfMonth(Number(year), m)) return undefined;
  return `${year}-${month}-${day}`;
}

function inRange(day: string, selection: TrailSelection): boolean {
  return (selection.from === undefined || day >= selection.from) && (selection.to === undefined || day <= selection.to);
}

/**
 * The filter a flat listing would need: a log file in the layout under `root` (anywhere in the key when `root` is
 * undefined: a prefix outside the layout) whose account, region and day are selected. Days are real calendar days
 * once a range is given.
 */
export function keySelector(root: string | undefined, selection: TrailSelection): (key: string) => boolean {
  if (selectsAll(selection)) return isLogFileKey;
  const layout = new RegExp(root === undefined ? `(?:^|/)${LAYOUT_TAIL}` : `^${escapeRegExp(root)}${LAYOUT_TAIL}`);
  const accounts = selection.accounts === undefined ? undefined : new Set(selection.accounts);
  const regions = selection.regions === undefined ? undefined : new Set(selection.regions);
  const days = selection.from !== undefined || selection.to !== undefined;
  return (key) => {
    if (!isLogFileKey(key)) return false;
    const match = layout.exec(key);
    if (match === null) return false;
    const [, account = '', region = '', year = '', month = '', day = ''] = match;
    if (accounts !== undefined && !accounts.has(account)) return false;
    if (regions !== undefined && !regions.has(region)) return false;
    if (!days) return true;
    const date = calendarDay(year, month, day);
    return date !== undefined && inRange(date, selection);
  };
}

/** The levels of the layout, top down; a level's rank orders them. */
const LEVELS = ['awslogs', 'top', 'account', 'service', 'region', 'year', 'month', 'day', 'files'] as const;
type Level = (typeof LEVELS)[number];
const rank = (level: Level): number => LEVELS.indexOf(level);

/** Where a location's prefix stands in the layout: the folder `path` at `level`, whose next name starts with `partial`. */
export interface LayoutPosition {
  /** What comes before AWSLogs/ ('' or a trail's S3 key prefix ending in /). */
  readonly root: string;
  readonly level: Level;
  readonly path: string;
  readonly partial: string;
}

/**
 * Whether a level takes `name` (a folder on the way down), or, for the last segment of a prefix (`last`), takes it as a
 * whole: then it means its folder, as a person writing it means, and not the start of longer names.
 */
function completeAt(level: Level, name: string, last = false): boolean {
  switch (level) {
    case 'top':
      return ORG.test(name) || ACCOUNT.test(name);
    case 'account':
      return ACCOUNT.test(name);
    case 'service':
      return name === 'CloudTrail';
    case 'region':
      return (last ? WHOLE_REGION : REGION).test(name);
    case 'year':
      return YEAR.test(name);
    case 'month':
    case 'day':
      return TWO_DIGITS.test(name);
    default:
      return false;
  }
}

function below(level: Level, name: string): Level {
  if (level === 'top') return ORG.test(name) ? 'account' : 'service';
  if (level === 'files') return 'files';
  return LEVELS[rank(level) + 1]!;
}

/**
 * The position of `prefix` in the layout, or undefined when it is not in it (some other folder: read flat). The
 * bucket's root stands before AWSLogs/; otherwise the prefix must name AWSLogs and, after it, names each level takes.
 */
export function layoutPosition(prefix: string): LayoutPosition | undefined {
  if (prefix === '') return { root: '', level: 'awslogs', path: '', partial: '' };
  const match = /^((?:[^/]*\/)*?)AWSLogs(\/.*)?$/.exec(prefix);
  if (match === null) return undefined;
  const root = match[1] ?? '';
  let level: Level = 'top';
  let path = `${root}AWSLogs/`;
  const segments = (match[2] ?? '/').slice(1).split('/');
  const partial = segments.pop() ?? '';
  for (const name of segments) {
    if (level !== 'files' && !completeAt(level, name)) return undefined;
    path += `${name}/`;
    level = below(level, name);
  }
  if (level !== 'files' && completeAt(level, partial, true)) return { root, level: below(level, partial), path: `${path}${partial}/`, partial: '' };
  return { root, level, path, partial };
}

interface Span {
  readonly first: string;
  readonly last: string;
}

/** The days a year, month or day folder holds; undefined for a month or day no calendar has. */
function spanOf(level: 'year' | 'month' | 'day', dated: string): Span | undefined {
  const [year = '', month, day] = dated.split('/');
  if (level === 'year') return { first: `${year}-01-01`, last: `${year}-12-31` };
  if (level === 'month') {
    const m = Number(month);
    if (m < 1 || m > 12) return undefined;
    return { first: `${year}-${month}-01`, last: `${year}-${month}-${String(lastDayOfMonth(Number(year), m)).padStart(2, '0')}` };
  }
  const date = calendarDay(year, month ?? '', day ?? '');
  return date === undefined ? undefined : { first: date, last: date };
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Both bounds given: the folders of a date level that overlap the range, built (never listed). */
function builtDates(level: 'year' | 'month' | 'day', dated: string, from: string, to: string): string[] {
  const names: string[] = [];
  if (level === 'year') for (let y = Number(from.slice(0, 4)); y <= Number(to.slice(0, 4)); y++) names.push(pad(y, 4));
  else if (level === 'month') for (let m = 1; m <= 12; m++) names.push(pad(m, 2));
  else {
    const [year = '', month = ''] = dated.split('/');
    for (let d = 1; d <= lastDayOfMonth(Number(year), Number(month)); d++) names.push(pad(d, 2));
  }
  return names.filter((name) => {
    const span = spanOf(level, `${dated}${name}`);
    return span !== undefined && span.last >= from && span.first <= to;
  });
}

export interface WalkOptions {
  /** A resumed replay: only keys after this one are wanted (folders wholly before it are not listed). */
  readonly after?: string | undefined;
  /** Told, page by page, of the keys a page selects and their sizes, before they are yielded (a progress line's total). */
  readonly onPage?: (files: number, bytes: number) => void;
}

/**
 * Every selected log file key under `prefix`, in S3's order, listing only what the selection needs. With nothing
 * selected, or a prefix outside the layout, one flat listing filtered (as a flat listing of any prefix would be).
 */
export async function* selectedKeys(list: ListObjects, prefix: string, selection: TrailSelection, options: WalkOptions = {}): AsyncGenerator<string> {
  const after = options.after;
  const position = selectsAll(selection) ? undefined : layoutPosition(prefix);
  const selects = keySelector(position?.root, selection);

  /** Every key of a flat listing of `scope` that the filter keeps. */
  async function* flat(scope: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await list({ Prefix: scope, ...(after !== undefined && after > scope ? { StartAfter: after } : {}), ...(token === undefined ? {} : { ContinuationToken: token }) });
      const keys = (page.Contents ?? []).filter((object) => {
        const key = object.Key ?? '';
        return (after === undefined || key > after) && selects(key);
      });
      options.onPage?.(keys.length, keys.reduce((sum, object) => sum + (object.Size ?? 0), 0));
      for (const object of keys) yield object.Key ?? '';
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** The names of the folders one level below `path`, listed with the delimiter, page by page. */
  async function* folders(path: string, partial: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await list({ Prefix: `${path}${partial}`, Delimiter: '/', ...(token === undefined ? {} : { ContinuationToken: token }) });
      for (const common of page.CommonPrefixes ?? []) {
        const folder = common.Prefix ?? '';
        if (folder.startsWith(path) && folder.endsWith('/')) yield folder.slice(path.length, -1);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Built names, in S3's order of their folders, that the partial name allows. */
  const built = (names: readonly string[], partial: string): string[] => [...new Set(names)].filter((name) => name.startsWith(partial)).sort((a, b) => (`${a}/` < `${b}/` ? -1 : 1));

  /** Whether a folder (or the keys starting with `scope`) can hold a key after `after`. */
  const wanted = (scope: string): boolean => after === undefined || scope >= after || after.startsWith(scope);

  const days = selection.from !== undefined || selection.to !== undefined;
  const fixedBelow = (level: Level): boolean =>
    (selection.accounts !== undefined && rank(level) <= rank('account')) || (selection.regions !== undefined && rank(level) <= rank('region')) || (days && rank(level) <= rank('day'));

  async function* walk(level: Level, path: string, partial: string, dated: string): AsyncGenerator<string> {
    if (!wanted(`${path}${partial}`)) return;
    if (!fixedBelow(level)) {
      yield* flat(`${path}${partial}`);
      return;
    }
    switch (level) {
      case 'awslogs':
        if ('AWSLogs'.startsWith(partial)) yield* walk('top', `${path}AWSLogs/`, '', '');
        return;
      case 'top':
        // An organisation trail's o-ORG/ level is found here, beside any account trail's account folders.
        for await (const name of folders(path, partial)) {
          if (ORG.test(name)) yield* walk('account', `${path}${name}/`, '', '');
          else if (ACCOUNT.test(name) && (selection.accounts === undefined || selection.accounts.includes(name))) yield* walk('service', `${path}${name}/`, '', '');
        }
        return;
      case 'account':
        if (selection.accounts !== undefined) {
          for (const name of built(selection.accounts, partial)) yield* walk('service', `${path}${name}/`, '', '');
        } else {
          for await (const name of folders(path, partial)) if (ACCOUNT.test(name)) yield* walk('service', `${path}${name}/`, '', '');
        }
        return;
      case 'service':
        if ('CloudTrail'.startsWith(partial)) yield* walk('region', `${path}CloudTrail/`, '', '');
        return;
      case 'region':
        if (selection.regions !== undefined) {
          for (const name of built(selection.regions, partial)) yield* walk('year', `${path}${name}/`, '', '');
        } else {
          for await (const name of folders(path, partial)) if (REGION.test(name)) yield* walk('year', `${path}${name}/`, '', '');
        }
        return;
      case 'year':
      case 'month':
      case 'day': {
        const syntax = level === 'year' ? YEAR : TWO_DIGITS;
        const { from, to } = selection;
        const names: AsyncIterable<string> | Iterable<string> = from !== undefined && to !== undefined ? built(builtDates(level, dated, from, to), partial) : folders(path, partial);
        for await (const name of names) {
          if (!syntax.test(name)) continue;
          const span = spanOf(level, `${dated}${name}`);
          if (span === undefined || (from !== undefined && span.last < from) || (to !== undefined && span.first > to)) continue;
          const folder = `${path}${name}/`;
          // Wholly inside the range: everything under it is selected, one flat listing reads it.
          if ((from === undefined || span.first >= from) && (to === undefined || span.last <= to)) {
            if (wanted(folder)) yield* flat(folder);
          } else yield* walk(below(level, name), folder, '', `${dated}${name}/`);
        }
        return;
      }
      case 'files':
        yield* flat(`${path}${partial}`);
        return;
    }
  }

  if (position === undefined) {
    yield* flat(prefix);
    return;
  }
  if (!mayHold(position, selection)) return;
  yield* walk(position.level, position.path, position.partial, datedPart(position));
}

/** The YYYY/ or YYYY/MM/ (or more) a position's path already fixes below the region. */
function datedPart(position: LayoutPosition): string {
  const after = position.path.slice(position.root.length).split('/').slice(0, -1);
  const regionIndex = after.indexOf('CloudTrail') + 2;
  return rank(position.level) > rank('year') ? `${after.slice(regionIndex, regionIndex + rank(position.level) - rank('year')).join('/')}/` : '';
}

/** Whether what the prefix itself fixes (an account, a region, a day) is selected at all: if not, nothing is listed. */
function mayHold(position: LayoutPosition, selection: TrailSelection): boolean {
  const names = position.path.slice(position.root.length).split('/').slice(1, -1);
  const at = names[0] !== undefined && ORG.test(names[0]) ? 1 : 0;
  const account = names[at];
  const region = names[at + 2];
  if (account !== undefined && selection.accounts !== undefined && !selection.accounts.includes(account)) return false;
  if (region !== undefined && selection.regions !== undefined && !selection.regions.includes(region)) return false;
  const dated = names.slice(at + 3, at + 6);
  if (dated.length > 0) {
    const level = (['year', 'month', 'day'] as const)[dated.length - 1]!;
    const span = spanOf(level, dated.join('/'));
    if (span === undefined) return selection.from === undefined && selection.to === undefined;
    if ((selection.from !== undefined && span.last < selection.from) || (selection.to !== undefined && span.first > selection.to)) return false;
  }
  return true;
}
