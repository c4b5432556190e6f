/** An export that must not ship; its message says why on one line. */
import { ExpectedError } from '../util/errors.js';

export class ExportError extends ExpectedError {}
