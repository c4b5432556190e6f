/**
 * A private TMPDIR for this process: `<tmp>/onnx-mnist-train-<pid>-XXXXXX`, mode 0700,
 * removed at exit, so that native code which writes fixed names into TMPDIR (ONNX Runtime
 * does: see ort-environment.node.ts) can neither be led through a link another local user planted
 * nor leave files behind in the shared folder. Folders of this form left by killed processes
 * (same user, mode 0700, pid gone) are removed; nothing else is touched.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from './pid.node.js';

const PREFIX = 'onnx-mnist-train-';
const OURS = /^onnx-mnist-train-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Removes folders this program made in `parent` for processes that
 * are gone; never anything of another user, never through a link.
 */
function removeStale(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const m = OURS.exec(name);
    if (!m || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    try {
      const st = lstatSync(join(parent, name));
      if (st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o777) === 0o700)
        rmSync(join(parent, name), { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/** Makes the folder and points `process.env.TMPDIR` (what native code reads) at it; returns it. */
export function usePrivateTmpdir(): string {
  const parent = tmpdir();
  removeStale(parent);
  // mkdtemp makes it 0700 and fails if the name exists
  const dir = mkdtempSync(join(parent, `${PREFIX}${process.pid}-`));
  process.env.TMPDIR = dir;
  process.once('exit', () => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // exiting anyway; a folder left behind is removed by the next process (removeStale)
    }
  });
  return dir;
}
