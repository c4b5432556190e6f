/**
 * Both pages' backend chooser (`backend-choice`) and display (`backend`, reading `webgpu` or
 * `wasm`: what runs the models now). WebGPU is offered when the page gets an adapter and chosen
 * by default then; `?backend=wasm` (or `webgpu`) in the address picks one.
 */
import { type Backend, BACKEND_LABELS, BACKENDS, initialBackend, isBackend, webgpuAdapter } from './backend.js';

export interface BackendChoice {
  /** The backend chosen when the page loaded. */
  chosen: Backend;
  /** The WebGPU adapter's name, or null when the page has none. */
  adapter: string | null;
}

/**
 * Fills `select` with the backends (WebGPU disabled without an
 * adapter), selects the initial one and reports changes to `onChange`.
 */
export async function setUpBackendChoice(
  select: HTMLSelectElement,
  onChange: (backend: Backend) => void,
): Promise<BackendChoice> {
  const adapter = await webgpuAdapter();
  const chosen = initialBackend(new URLSearchParams(location.search).get('backend'), adapter);
  select.replaceChildren(
    ...BACKENDS.map((b) => {
      const label =
        b === 'webgpu'
          ? adapter
            ? `${BACKEND_LABELS.webgpu} (${adapter})`
            : `${BACKEND_LABELS.webgpu} (not available in this browser)`
          : BACKEND_LABELS.wasm;
      const option = new Option(label, b, false, b === chosen);
      option.disabled = b === 'webgpu' && !adapter;
      return option;
    }),
  );
  select.addEventListener('change', () => {
    if (isBackend(select.value)) onChange(select.value);
  });
  return { chosen, adapter };
}

/** Shows the backend that runs now in `el` (`webgpu` or `wasm`), with why when it is not the one chosen. */
export function showBackend(el: HTMLElement, backend: Backend, note?: string): void {
  el.textContent = backend;
  el.title = note ?? `${BACKEND_LABELS[backend]} runs the model`;
}
