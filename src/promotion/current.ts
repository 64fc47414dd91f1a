/**
 * What runs where, without parsing the whole history: a history tag's name already holds its
 * target, component and timestamp (`atmos/deployments/<d>/<t>/<component>/<timestamp>`), so
 * the tags are ordered by name and only the records needed are parsed (the newest non-failed
 * one per target or component, usually the first one looked at). With thousands of tags
 * this is what keeps the promotion commands fast; the git side stays ONE `for-each-ref`.
 *
 * The result is the one of src/promotion/state.ts (currentReleases / currentOfComponent) on
 * the fully parsed history whenever each tag's name matches its record, which is how tags
 * are written (historyTagName(record.timestamp)). A tag whose record does not parse, or does
 * not match its name, is reported in `invalid` and skipped.
 */
import type { HistoryEntry } from '../release/read.js';
import type { InvalidTag } from '../release/index.js';
import { parseDeploymentRecord, parseHistoryTag, type RefInfo } from '../tracking/index.js';

export interface IndexedTag {
  info: RefInfo;
  /** Tag name (without refs/tags/). */
  tag: string;
  target: string;
  component: string;
  /** ISO-8601, from the tag name. */
  timestamp: string;
}

/** The history tags of `deployment` among `refs`, newest first (by name: timestamp, then tag). */
export function indexHistoryTags(refs: RefInfo[], deployment: string): IndexedTag[] {
  const out: IndexedTag[] = [];
  for (const info of refs) {
    if (!info.ref.startsWith('refs/tags/')) continue;
    const p = parseHistoryTag(info.ref);
    if (!p || p.deployment !== deployment) continue;
    out.push({ info, tag: info.ref.slice('refs/tags/'.length), target: p.target, component: p.component, timestamp: p.timestamp });
  }
  return out.sort((a, b) => (a.timestamp !== b.timestamp ? (a.timestamp < b.timestamp ? 1 : -1) : a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0));
}

/** History tags parsed on demand (each at most once). */
export class LazyHistory {
  readonly tags: IndexedTag[];
  private readonly parsed = new Map<IndexedTag, HistoryEntry | null>();

  constructor(
    refs: RefInfo[],
    readonly deployment: string,
    private readonly invalid: InvalidTag[] = [],
  ) {
    this.tags = indexHistoryTags(refs, deployment);
  }

  /** The record of a tag; undefined (and reported) when it is not a valid record of that tag. */
  entry(t: IndexedTag): HistoryEntry | undefined {
    let e = this.parsed.get(t);
    if (e === undefined) {
      e = null;
      if (t.info.type !== 'tag' || t.info.message === undefined) this.invalid.push({ tag: t.tag, error: 'not an annotated tag' });
      else {
        try {
          const r = parseDeploymentRecord(t.info.message);
          if (r.deployment !== this.deployment || r.target !== t.target || r.component !== t.component) {
            this.invalid.push({ tag: t.tag, error: `record is for ${r.deployment}/${r.target}/${r.component}, not what the tag name says` });
          } else e = { tag: t.tag, ...r };
        } catch (err) {
          this.invalid.push({ tag: t.tag, error: (err as Error).message });
        }
      }
      this.parsed.set(t, e);
    }
    return e ?? undefined;
  }

  /** The newest entry that did not fail among the tags `match` selects (by name, before parsing). */
  current(match: (t: IndexedTag) => boolean): HistoryEntry | undefined {
    for (const t of this.tags) {
      if (!match(t)) continue;
      const e = this.entry(t);
      if (e && e.status !== 'failed') return e;
    }
    return undefined;
  }

  /** Current entry of every target (newest non-failed), for the given targets. */
  currentByTarget(targets: Iterable<string>): Map<string, HistoryEntry> {
    const out = new Map<string, HistoryEntry>();
    for (const name of targets) {
      const e = this.current((t) => t.target === name);
      if (e) out.set(name, e);
    }
    return out;
  }
}
