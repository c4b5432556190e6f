/**
 * Which parameters a run trains: all of them, or those a name pattern selects (`trainOnly`,
 * as ORT's generate_artifacts took `requires_grad`), minus those another selects (`freeze`,
 * its `frozen_params`; PyTorch's `requires_grad_(False)`). A pattern is a parameter name
 * (`fc.weight`), a module path (`fc`, `features.3`: everything under it), or either with `*`
 * (any characters within a name part) and `**` (any characters at all): `features.*.weight`,
 * `layer4.**`. A pattern that matches nothing is a mistake, said in one line.
 */
import type { Network } from '../../model/network.js';
import { ExpectedError } from '../../util/errors.js';

export interface ParameterSelection {
  /** Train only the parameters these patterns select (absent: all). */
  trainOnly?: readonly string[];
  /** Do not train the parameters these patterns select. */
  freeze?: readonly string[];
}

/** A selection that cannot apply to this network. */
export class SelectionError extends ExpectedError {}

const escapeRegExp = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** The pattern as a regular expression over whole names (a module path also matches what is under it). */
function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .split('**')
    .map((part) => part.split('*').map(escapeRegExp).join('[^.]*'))
    .join('.*');
  return new RegExp(`^${body}(\\..*)?$`);
}

/** Whether `pattern` selects parameter `name`. */
const selects = (pattern: string, name: string): boolean => patternRegExp(pattern).test(name);

const isControl = (c: string) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;

function matching(patterns: readonly string[], names: readonly string[], option: string): Set<string> {
  const chosen = new Set<string>();
  for (const pattern of patterns) {
    if (!pattern || [...pattern].some(isControl))
      throw new SelectionError(`${option} ${JSON.stringify(pattern)}: not a name pattern`);
    const hits = names.filter((n) => selects(pattern, n));
    if (hits.length === 0) {
      const shown = names.slice(0, 6).join(', ');
      throw new SelectionError(
        `${option} '${pattern}' matches no parameter ` +
          `(the model has ${names.length}: ${shown}${names.length > 6 ? ', ...' : ''})`,
      );
    }
    for (const h of hits) chosen.add(h);
  }
  return chosen;
}

/**
 * The names of the parameters a selection leaves untrained (empty: train them all); `labels`
 * name the two options in errors (the CLI's flags, the API's fields).
 */
export function frozenParameters(
  net: Network,
  { trainOnly, freeze }: ParameterSelection,
  labels: Record<keyof ParameterSelection, string> = { trainOnly: 'trainOnly', freeze: 'freeze' },
): Set<string> {
  const names = net.parameterSpecs.map((s) => s.name);
  const trained = trainOnly?.length ? matching(trainOnly, names, labels.trainOnly) : new Set(names);
  for (const name of freeze?.length ? matching(freeze, names, labels.freeze) : []) trained.delete(name);
  if (trained.size === 0) throw new SelectionError('the selection leaves no parameter to train');
  return new Set(names.filter((n) => !trained.has(n)));
}
