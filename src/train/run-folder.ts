/**
 * A run owns its folder. A new run folder appears whole: it is made under a temporary name
 * beside its final one, with run.json (the recipe) and the lock inside, then renamed into
 * place, which fails if the name is taken by a folder that is not empty. So two runs given
 * the same --out, or two default runs started in the same second, can never share a folder.
 * A resumed run takes the folder's lock, `.lock`, created exclusively (O_EXCL) and holding
 * the owner's pid; a lock whose process is gone (killed, crashed) is stale and taken over.
 * Nothing is ever written into a folder this program did not make.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { nearestExisting, writeFileAtomic } from '../util/atomic.node.js';
import { ExpectedError, isSystemError, systemErrorReason, messageOf } from '../util/errors.js';
import { isAlive } from '../util/pid.node.js';
import { firstIssue, type RunRecord, runRecordSchema, type TrainConfig } from './core/config.js';

class RunFolderError extends ExpectedError {}

const LOCK = '.lock';
const RECORD = 'run.json';
/** Files a run writes at its top level; a folder holding one of them (or checkpoints/) is a run. */
const RUN_FILES = [RECORD, 'metrics.jsonl', 'checkpoints'];

export interface RunFolder {
  dir: string;
  /** The recipe recorded when the run was created (absent in folders of older versions). */
  record?: RunRecord;
  /** Gives the lock back; also done when the process exits. */
  release(): void;
  /**
   * Removes a folder this process just made, when the run failed before training (a model the
   * graphs refuse): it would block the same --out. Only while it holds nothing but what a run
   * writes as it starts; anything else keeps it.
   */
  discard(): void;
}

/** What a new run writes before its first step: a folder holding only these is still all ours. */
const STARTING_FILES = /^(\.lock|run\.json|model\.(m?ts|js|onnx)|train_step\.onnx|eval\.onnx)$/;

function lockOwner(lockFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(lockFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunFolder(dir: string): boolean {
  return RUN_FILES.some((f) => existsSync(join(dir, f)));
}

function inUse(dir: string, pid: number): RunFolderError {
  return new RunFolderError(
    `${dir}: in use by another training run (pid ${pid}); wait for it to end, or stop it, then --resume`,
  );
}

/** The pid written into a lock we create; the same pid read back means the lock is ours. */
function writeLock(lockFile: string): void {
  const fd = openSync(lockFile, 'wx');
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
}

function holdLock(dir: string): RunFolder['release'] {
  const lockFile = join(dir, LOCK);
  let held = true;
  const release = () => {
    if (held && lockOwner(lockFile) === process.pid) rmSync(lockFile, { force: true });
    held = false;
  };
  process.once('exit', release);
  return release;
}

/** Takes the lock of an existing run folder, taking over a stale one. */
function lock(dir: string): RunFolder['release'] {
  const lockFile = join(dir, LOCK);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeLock(lockFile);
      return holdLock(dir);
    } catch (e) {
      if (!isSystemError(e) || e.code !== 'EEXIST') throw e;
    }
    const owner = lockOwner(lockFile);
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) throw inUse(dir, owner);
    // Stale: move it aside under our own name, so that of two processes breaking it only one succeeds.
    const aside = `${lockFile}.stale-${process.pid}`;
    try {
      renameSync(lockFile, aside);
    } catch (e) {
      if (isSystemError(e) && e.code === 'ENOENT') continue; // someone else broke it first
      throw e;
    }
    const moved = lockOwner(aside);
    rmSync(aside, { force: true });
    if (moved !== owner && moved !== undefined && isAlive(moved)) throw inUse(dir, moved); // we raced a fresh lock
  }
  const owner = lockOwner(lockFile);
  throw owner === undefined ? new RunFolderError(`${lockFile}: cannot take the run's lock`) : inUse(dir, owner);
}

/** A run folder's run.json, checked against its schema; undefined where there is none. */
export function readRecord(dir: string): RunRecord | undefined {
  const file = join(dir, RECORD);
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RunFolderError(`${file}: not valid JSON (${messageOf(e)})`);
  }
  const parsed = runRecordSchema.safeParse(json);
  if (!parsed.success) throw new RunFolderError(`${file}: invalid run record: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** Where a link leads, or the link itself where it leads nowhere. */
function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Refuses an --out that is a link, a file, lies under a file, or holds things that are not ours. */
function checkTarget(dir: string): void {
  const above = nearestExisting(dirname(dir));
  if (!statSync(above).isDirectory())
    throw new RunFolderError(`${dir}: cannot be made, ${above} is a file, not a folder; choose another --out`);
  if (lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new RunFolderError(
      `${dir}: is a symbolic link; ` +
        `a run folder is made where --out says, so give the folder it points to (${realpathOr(dir)}) or a new one`,
    );
  }
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new RunFolderError(`${dir}: is a file, not a folder; choose another --out`);
  const entries = readdirSync(dir);
  if (entries.length === 0) return;
  const owner = lockOwner(join(dir, LOCK));
  if (owner !== undefined && isAlive(owner)) throw inUse(dir, owner);
  if (isRunFolder(dir))
    throw new RunFolderError(`${dir} already holds a run; pass --resume to continue it or choose another --out`);
  throw new RunFolderError(
    `${dir}: not empty and not a run folder (it holds ${entries[0]}${entries.length > 1 ? ', ...' : ''}); ` +
      `choose a new or empty --out`,
  );
}

/** Files a run folder is made with, beside run.json (its model file's copy): [name, bytes]. */
export type InitialFiles = readonly (readonly [string, Uint8Array])[];

/** A staging folder: `.new-run-<pid>-<random>`, short, so that any legal --out name can be staged beside it. */
const STAGING = /^\.new-run-(\d+)-[0-9a-f]{8}$/;

/**
 * Removes staging folders of runs killed while they started:
 * their process gone, holding only what a staging folder holds.
 */
function removeStaleStaging(parent: string): void {
  for (const name of readdirSync(parent)) {
    const m = STAGING.exec(name);
    if (!m || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    const path = join(parent, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st?.isDirectory()) continue;
    const entries = readdirSync(path);
    const owned = entries.every((e) => e === LOCK || e === RECORD || /^model\.(m?ts|js|onnx)$/.test(e));
    if (owned && (!entries.includes(LOCK) || lockOwner(join(path, LOCK)) === Number(m[1])))
      rmSync(path, { recursive: true, force: true });
  }
}

/** Makes `dir` appear whole, holding the lock, run.json and `files`; false if the name was taken meanwhile. */
function createWhole(dir: string, record: RunRecord, files: InitialFiles): boolean {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  removeStaleStaging(parent);
  const staging = join(parent, `.new-run-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(staging); // exclusive: fails if the name exists
  } catch (e) {
    throw cannotMake(dir, e);
  }
  try {
    writeLock(join(staging, LOCK));
    writeFileAtomic(join(staging, RECORD), `${JSON.stringify(record, null, 2)}\n`);
    for (const [name, bytes] of files) writeFileAtomic(join(staging, name), bytes);
    renameSync(staging, dir); // replaces an empty folder; fails on one that is not empty
    return true;
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    if (isSystemError(e) && (e.code === 'ENOTEMPTY' || e.code === 'EEXIST')) return false;
    throw cannotMake(dir, e);
  }
}

/** A failure while staging the run folder, told in terms of --out, not of the staging folder. */
function cannotMake(dir: string, e: unknown): unknown {
  return isSystemError(e) ? new RunFolderError(`${dir}: cannot make the run folder: ${systemErrorReason(e)}`) : e;
}

function newRecord(config: TrainConfig): RunRecord {
  return { format: 1, producer: 'onnx-mnist-train', created: new Date().toISOString(), config };
}

/** A new run folder at `dir`, which must not exist or be empty. */
export function createRunFolder(dir: string, config: TrainConfig, files: InitialFiles = []): RunFolder {
  checkTarget(dir);
  const record = newRecord(config);
  if (!createWhole(dir, record, files)) {
    checkTarget(dir); // says who took it
    throw new RunFolderError(`${dir}: taken by another run while this one started; choose another --out`);
  }
  return made(dir, record);
}

/** A run folder this process made, holding its lock. */
function made(dir: string, record: RunRecord): RunFolder {
  const release = holdLock(dir);
  return {
    dir,
    record,
    release,
    discard() {
      if (!readdirSync(dir).every((e) => STARTING_FILES.test(e))) return release();
      rmSync(dir, { recursive: true, force: true });
      release();
    },
  };
}

/** A new run folder `<base>`, or `<base>-2`, `<base>-3`, ... if that name is taken: default names never collide. */
export function createUniqueRunFolder(base: string, config: TrainConfig, files: InitialFiles = []): RunFolder {
  const record = newRecord(config);
  for (let n = 1; n <= 1000; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    if (existsSync(dir)) continue;
    if (createWhole(dir, record, files)) return made(dir, record);
  }
  throw new RunFolderError(`${base}: no free run folder name`);
}

/** An existing run folder, locked for this process (for --resume). */
export function openRunFolder(dir: string): RunFolder {
  if (!existsSync(dir)) throw new RunFolderError(`${dir}: no such run folder to resume`);
  if (!statSync(dir).isDirectory()) throw new RunFolderError(`${dir}: is a file, not a run folder`);
  if (!isRunFolder(dir))
    throw new RunFolderError(`${dir}: not a run folder (no ${RECORD}, metrics or checkpoints); nothing to resume`);
  const release = lock(dir);
  try {
    return { dir, record: readRecord(dir), release, discard: release };
  } catch (e) {
    release();
    throw e;
  }
}
