/**
 * The grid's read of Git, for repositories with many thousands of history tags: the names
 * first (one `git for-each-ref` without the messages), then the messages of only the tags the
 * grid shows — per target and component, the newest ones down to the first that did not fail
 * — with one `git cat-file --batch` per round (usually one round; another only when a newest
 * record is a failure). The refs handed on are the ones `status` would use to answer, so
 * statusFromRefs and LazyHistory (src/tracking/history.ts) give the same answer as on all.
 */
import { DEPLOYMENT_HEADER, notesRef, parseHistoryTag, type GitRepo, type RefInfo } from '../tracking/index.js';

const MAX_ROUNDS = 4;
// Names and object ids only: git then reads no object at all (no type, no peeling: that is
// what costs with thousands of tags). A tag's type is learnt when its message is read.
const NAME_FORMAT = '%(refname)%00%(objectname)%00';

/** Refs under `prefixes` without types or messages — ONE `git for-each-ref` that reads no object. */
export async function readRefNames(git: GitRepo, prefixes: string[]): Promise<RefInfo[]> {
  const { text } = await git.run(['for-each-ref', `--format=${NAME_FORMAT}`, '--', ...prefixes]);
  const parts = text.split('\0');
  const out: RefInfo[] = [];
  for (let i = 0; i + 2 <= parts.length; i += 2) {
    const ref = parts[i].replace(/^\n/, '');
    const sha = parts[i + 1];
    // Current-state refs point at commits (statusFromRefs reads their target); tags are typed by readTagMessages.
    const type = ref.startsWith('refs/tags/') ? 'unknown' : 'commit';
    out.push({ ref, sha, type, target: sha, targetType: type });
  }
  return out;
}

/**
 * The type and, for annotated tags, the message (the text after the header) of each tag
 * object not read yet — ONE `git cat-file --batch`, answers in the order asked.
 */
export async function readTagMessages(git: GitRepo, infos: RefInfo[]): Promise<void> {
  const todo = infos.filter((i) => i.type === 'unknown');
  if (todo.length === 0) return;
  const { stdout } = await git.run(['cat-file', '--batch'], { input: `${todo.map((t) => t.sha).join('\n')}\n` });
  let pos = 0;
  for (const t of todo) {
    const nl = stdout.indexOf(10, pos);
    if (nl < 0) break;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(stdout.toString('utf8', pos, nl));
    pos = nl + 1;
    if (!m) {
      t.type = t.targetType = 'missing';
      continue;
    }
    const len = Number(m[2]);
    t.type = t.targetType = m[1];
    if (m[1] === 'tag') {
      const o = stdout.toString('utf8', pos, pos + len);
      const blank = o.indexOf('\n\n');
      t.message = blank < 0 ? '' : o.slice(blank + 2);
    }
    pos += len + 1;
  }
}

/** Whether a tag's record says it failed, or is no record (look further back, as LazyHistory does); the full parse comes later, for the tags kept. */
const failed = (info: RefInfo): boolean => !info.message?.startsWith(DEPLOYMENT_HEADER) || /^status: *['"]?failed['"]? *$/m.test(info.message);

/**
 * The current-state refs and, per target and component, the newest history tags down to the
 * first that did not fail, with their messages, of the deployments under `prefixes`.
 */
export async function readShownRefs(git: GitRepo, prefixes: string[]): Promise<RefInfo[]> {
  const all = await readRefNames(git, prefixes);
  const keep = all.filter((r) => !r.ref.startsWith('refs/tags/'));
  // Tags per deployment/target/component, newest first by name (timestamp in the name).
  const groups = new Map<string, RefInfo[]>();
  for (const r of all) {
    if (!r.ref.startsWith('refs/tags/')) continue;
    const p = parseHistoryTag(r.ref);
    if (!p) continue;
    const key = `${p.deployment}\0${p.target}\0${p.component}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  const queues = [...groups.values()].map((g) => g.sort((a, b) => (a.ref < b.ref ? 1 : a.ref > b.ref ? -1 : 0)));
  // Round by round: the next tags of every group whose tags read so far all failed — two
  // in the first round (a failed newest is common enough to save a second process for), then
  // one. After MAX_ROUNDS, the rest of the groups still open (long runs of failures) in one
  // last batch: the number of git processes stays bounded whatever the history.
  let open = queues.map((q) => ({ q, i: 0 }));
  for (let round = 1; open.length > 0; round++) {
    const take = round > MAX_ROUNDS ? Number.POSITIVE_INFINITY : round === 1 ? 2 : 1;
    const batch = open.flatMap((o) => o.q.slice(o.i, o.i + take));
    await readTagMessages(git, batch);
    keep.push(...batch);
    if (round > MAX_ROUNDS) break;
    open = open.filter((o) => {
      const read = o.q.slice(o.i, o.i + take);
      o.i += read.length;
      return read.every(failed) && o.i < o.q.length;
    });
  }
  return keep;
}

/**
 * The notes of `kind` on the given commits of several deployments — ONE `git cat-file --batch`
 * whatever their number (where `readNotes` takes two processes per notes ref). A note's path
 * in the notes tree has 0, 1 or 2 levels of fan-out (`ab/cdef…`), so each is asked for in
 * every form; the missing ones are skipped. Keyed by `<deployment>\0<commit>`.
 */
export async function readNotesOf(git: GitRepo, kind: 'approvals', wanted: { deployment: string; commit: string }[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const asked: { key: string; spec: string }[] = [];
  for (const w of wanted) {
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(w.commit)) continue;
    const c = w.commit;
    for (const p of [c, `${c.slice(0, 2)}/${c.slice(2)}`, `${c.slice(0, 2)}/${c.slice(2, 4)}/${c.slice(4)}`])
      asked.push({ key: `${w.deployment}\0${c}`, spec: `${notesRef(w.deployment, kind)}:${p}` });
  }
  if (asked.length === 0) return out;
  const { stdout } = await git.run(['cat-file', '--batch'], { input: `${asked.map((a) => a.spec).join('\n')}\n` });
  // In input order: `<sha> <type> <size>\n<content>\n`, or `<spec> missing\n`.
  let pos = 0;
  for (const a of asked) {
    const nl = stdout.indexOf(10, pos);
    if (nl < 0) break;
    const header = stdout.toString('utf8', pos, nl);
    pos = nl + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) continue; // missing or ambiguous
    const len = Number(m[2]);
    if (m[1] === 'blob') out.set(a.key, stdout.toString('utf8', pos, pos + len));
    pos += len + 1;
  }
  return out;
}
