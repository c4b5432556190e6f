/** Whether a process id names a running process (used to tell stale locks and temporaries from live ones). */
import process from 'node:process';
import { isSystemError } from './errors.js';

/** True for a running process; EPERM means it runs as another user. */
export function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid < 1 || pid > 0x7fffffff) return false; // 0 and -1 would signal process groups
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isSystemError(e) && e.code === 'EPERM';
  }
}
