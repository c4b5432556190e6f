/**
 * The process environment onnxruntime-node's native library must start in. Imported for its
 * side effect by ort.node.ts, before ORT creates its environment (at the first
 * session), which is when ORT reads these variables.
 *
 * ORT 1.30's telemetry, on by default on Linux, does three things we cannot have (measured
 * with strace; the report for upstream is in docs/upstream-reports.md):
 * - it opens `$TMPDIR/mat-debug-<pid>.log` and `$TMPDIR/.ses` with O_TRUNC and without
 *   O_NOFOLLOW, so a link planted there by another local user has its target truncated (and
 *   `.ses` overwritten), and leaves both files behind;
 * - it parses /proc/self/cmdline recursively: a command line of about 29 KB (predict with
 *   1,500 image paths) overflows the stack, SIGSEGV;
 * - it keeps a device id and a database in ~/.cache/Microsoft/DeveloperTools/.onnxruntime.
 * ORT_DISABLE_TELEMETRY=1 turns all of it off. A private TMPDIR (0700) keeps whatever native
 * code still writes there out of reach of other users, and out of /tmp.
 */
import { usePrivateTmpdir } from './private-tmpdir.node.js';

process.env.ORT_DISABLE_TELEMETRY = '1';
usePrivateTmpdir();
