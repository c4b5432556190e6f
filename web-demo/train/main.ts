/**
 * The training page: controls, live figures and the chart. The training itself runs in a
 * worker (worker/main.ts), so this page only turns messages into text and pixels and stays
 * responsive while a step runs.
 */
import { byTestId, percent, statusLine } from '../shared/dom.js';
import { startWorker } from '../shared/worker.js';
import { TrainChart } from './chart.js';
import type { FromWorker, ImageFolderUpload, OnnxUpload, StepReport, ToWorker } from '../shared/protocol.js';
import { droppedFolder, folderUpload, pickedFolder } from './folder.js';
import { fileModelId, isFileModel, isModelChoice, MODEL_CHOICES } from '../shared/example-models.js';
import {
  answerClassify,
  checkSteps,
  recordStep,
  resetTrainHooks,
  setTrainHooks,
  trainHook,
  traceSteps,
} from '../shared/test-hooks.js';
import type { Backend } from '../shared/backend.js';
import { setUpBackendChoice, showBackend } from '../shared/backend-choice.js';
import { BATCH_SIZES, DEFAULT_CHOICE, isSchedulePreset, type RunChoice, SCHEDULES } from '../shared/recipe.js';
import type { RunLength } from '../../src/train/core/recipe.js';
import { messageOf } from '../../src/util/errors.js';

const $ = byTestId;
const ui = {
  settings: $<HTMLFormElement>('train-settings'),
  data: $<HTMLSelectElement>('train-data'),
  dataFolder: $<HTMLInputElement>('train-data-folder'),
  dataSummary: $('train-data-summary'),
  notes: $('train-notes'),
  steps: $<HTMLInputElement>('train-steps'),
  epochs: $<HTMLInputElement>('train-epochs'),
  bySteps: $<HTMLInputElement>('train-length-steps'),
  byEpochs: $<HTMLInputElement>('train-length-epochs'),
  model: $<HTMLSelectElement>('train-model'),
  modelFile: $<HTMLInputElement>('train-model-file'),
  batch: $<HTMLSelectElement>('train-batch'),
  schedule: $<HTMLSelectElement>('train-schedule'),
  start: $<HTMLButtonElement>('train-start'),
  pause: $<HTMLButtonElement>('train-pause'),
  resume: $<HTMLButtonElement>('train-resume'),
  stop: $<HTMLButtonElement>('train-stop'),
  downloadOnnx: $<HTMLButtonElement>('train-download-onnx'),
  downloadCheckpoint: $<HTMLButtonElement>('train-download-checkpoint'),
  status: $('train-status'),
  step: $('train-step'),
  loss: $('train-loss'),
  rate: $('train-rate'),
  eta: $('train-eta'),
  accuracy: $('train-test-accuracy'),
  threads: $('train-threads'),
  backendChoice: $<HTMLSelectElement>('backend-choice'),
  backend: $('backend'),
  backendNote: $('backend-note'),
};
const chart = new TrainChart($<HTMLCanvasElement>('train-chart'));

for (const { id, label } of MODEL_CHOICES) ui.model.add(new Option(label, id, false, id === DEFAULT_CHOICE.model));

/** The data list's values: the bundled MNIST, or the folder the user gave. */
const MNIST = 'mnist';
const FOLDER = 'folder';

/** The .onnx the user gave the page (chosen or dropped), offered and chosen in the model list. */
let upload: OnnxUpload | undefined;
async function useOnnx(file: File): Promise<void> {
  if (state !== 'idle') return;
  if (!/\.onnx$/i.test(file.name)) return setStatus(`error: ${file.name} is not an .onnx file`, true);
  upload = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  for (const o of [...ui.model.options]) if (isFileModel(o.value)) o.remove();
  ui.model.add(new Option(file.name, fileModelId(file.name), true, true));
  setStatus(`${file.name} chosen: Start trains it`);
}
ui.modelFile.addEventListener('change', () => {
  const file = ui.modelFile.files?.[0];
  if (file) void useOnnx(file);
});
/** The folder of images the user gave the page (chosen or dropped), offered and chosen in the data list. */
let folder: ImageFolderUpload | undefined;
async function useFolder(given: Parameters<typeof folderUpload>[0]): Promise<void> {
  if (state !== 'idle') return;
  let listed: Awaited<ReturnType<typeof folderUpload>>;
  try {
    listed = await folderUpload(given);
  } catch (e) {
    return setStatus(`error: ${messageOf(e)}`, true);
  }
  folder = listed.upload;
  for (const o of [...ui.data.options]) if (o.value !== MNIST) o.remove();
  ui.data.add(new Option(`${folder.name} (your images)`, FOLDER, true, true));
  ui.dataSummary.textContent = listed.summary;
  ui.dataSummary.hidden = false;
  setStatus(`${folder.name} chosen: Start trains on it`);
}
ui.dataFolder.addEventListener('change', () => {
  if (ui.dataFolder.files && ui.dataFolder.files.length > 0) void useFolder(pickedFolder(ui.dataFolder.files));
});
ui.data.addEventListener('change', () => (ui.dataSummary.hidden = ui.data.value !== FOLDER));
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  // Entries must be taken while the event lasts; a folder is read from them afterwards.
  const entry = e.dataTransfer?.items[0]?.webkitGetAsEntry();
  if (entry?.isDirectory) {
    droppedFolder(entry as FileSystemDirectoryEntry).then(useFolder, (error: unknown) =>
      setStatus(`error: ${entry.name}: ${String(error)}`, true),
    );
    return;
  }
  const file = e.dataTransfer?.files[0];
  if (file) void useOnnx(file);
});
for (const size of BATCH_SIZES)
  ui.batch.add(new Option(String(size), String(size), false, size === DEFAULT_CHOICE.batchSize));
for (const [key, preset] of Object.entries(SCHEDULES))
  ui.schedule.add(new Option(preset.label, key, false, key === DEFAULT_CHOICE.schedule));

/** The backend the next run asks for (the worker may fall back to WebAssembly, and says so). */
let backend: Backend = 'wasm';
const choosing = setUpBackendChoice(ui.backendChoice, (next) => {
  backend = next;
  showBackend(ui.backend, next);
}).then(({ chosen }) => {
  backend = chosen;
  showBackend(ui.backend, chosen);
});

/** Steps over which steps/s is averaged: long enough to be steady, short enough to follow a change. */
const RATE_WINDOW = 20;

type RunState = 'idle' | 'running' | 'pausing' | 'paused' | 'stopping';

let worker: Worker | null = null;
let state: RunState = 'idle';
let run = { totalSteps: 0, epochs: 0, step: 0 };

type DownloadKind = 'onnx' | 'checkpoint';
/** The downloads' names: `mnist-trained.onnx`, or after the user's folder, `pets-trained.onnx`. */
const downloadName = (kind: DownloadKind, data: string) =>
  `${data.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-trained.${kind === 'onnx' ? 'onnx' : 'safetensors'}`;
/** The data the downloads were trained on. */
let trainedOn = 'mnist';
/** Blob URLs of the prepared downloads (for the snapshot at `step`). */
let files: { step: number; urls: Record<DownloadKind, string> } | null = null;
/** The step of the run's newest snapshot, which the downloads would hold (null: none yet). */
let snapshotStep: number | null = null;
/** Why the downloads were refused, if they were. */
let downloadRefused: string | null = null;
/** The wall times of the last RATE_WINDOW steps, in ms. */
let recentMs: number[] = [];
/** Downloads clicked while the worker prepares them. */
let wanted = new Set<DownloadKind>();

function dropFiles(): void {
  if (files) for (const url of Object.values(files.urls)) URL.revokeObjectURL(url);
  files = null;
  wanted = new Set();
}

const setStatus = statusLine(ui.status);

/** Enters `next`: which buttons and settings work in each state of a run. */
function setState(next: RunState): void {
  state = next;
  ui.start.disabled = state !== 'idle';
  ui.pause.disabled = state !== 'running';
  ui.resume.disabled = state !== 'paused';
  ui.stop.disabled = state === 'idle' || state === 'stopping';
  updateDownloads();
  for (const el of ui.settings.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select'))
    el.disabled = state !== 'idle';
}

/** The downloads work once a run has ended with a state to offer, and while none is being prepared. */
function updateDownloads(): void {
  const off = state !== 'idle' || snapshotStep === null || downloadRefused !== null || wanted.size > 0;
  ui.downloadOnnx.disabled = off;
  ui.downloadCheckpoint.disabled = off;
}

function save(kind: DownloadKind): void {
  if (!files) return;
  const a = document.createElement('a');
  a.href = files.urls[kind];
  a.download = downloadName(kind, trainedOn);
  a.click();
}

function download(kind: DownloadKind): void {
  if (files && files.step === snapshotStep) return save(kind);
  wanted.add(kind);
  updateDownloads();
  send({ type: 'export' });
}

/** A message of one kind from the worker. */
type Message<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

function onExported(m: Message<'exported'>): void {
  const pending = wanted;
  dropFiles();
  wanted = pending;
  const blob = (bytes: Uint8Array) =>
    URL.createObjectURL(new Blob([bytes.slice()], { type: 'application/octet-stream' }));
  files = { step: m.step, urls: { onnx: blob(m.onnx), checkpoint: blob(m.checkpoint) } };
  setTrainHooks({ downloadCheck: m.verification });
  const v = m.verification;
  setStatus(
    `model checked against the evaluation graph on ${v.count.toLocaleString('en-US')} test images: ` +
      `max probability difference ${v.maxProbabilityDifference.toExponential(1)}, ` +
      `${v.disagreements} different predictions, test accuracy ${percent(v.correct / v.count)}`,
  );
  for (const kind of wanted) save(kind);
  wanted = new Set();
  updateDownloads();
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/** The chosen run, or a message saying which field is wrong. */
function readChoice(): RunChoice | string {
  const field = ui.byEpochs.checked ? ui.epochs : ui.steps;
  const n = Number(field.value);
  const max = Number(field.max);
  const unit = ui.byEpochs.checked ? 'epochs' : 'steps';
  if (!Number.isInteger(n) || n < 1 || n > max)
    return `${unit} must be a whole number from 1 to ${max.toLocaleString('en-US')}`;
  const length: RunLength = ui.byEpochs.checked ? { kind: 'epochs', epochs: n } : { kind: 'steps', steps: n };
  const batchSize = BATCH_SIZES.find((b) => String(b) === ui.batch.value) ?? DEFAULT_CHOICE.batchSize;
  const schedule = isSchedulePreset(ui.schedule.value) ? ui.schedule.value : DEFAULT_CHOICE.schedule;
  const model = isModelChoice(ui.model.value) ? ui.model.value : DEFAULT_CHOICE.model;
  return { model, length, batchSize, schedule };
}

function send(message: ToWorker): void {
  worker?.postMessage(message);
}

async function start(): Promise<void> {
  await choosing;
  const choice = readChoice();
  if (typeof choice === 'string') return setStatus(`error: ${choice}`, true);
  worker?.terminate(); // a finished run's worker held its snapshot; a new run starts clean
  dropFiles();
  worker = startWorker(onMessage);
  resetTrainHooks(send);
  snapshotStep = null;
  downloadRefused = null;
  recentMs = [];
  for (const el of [ui.step, ui.loss, ui.rate, ui.eta, ui.accuracy, ui.threads]) el.textContent = '–';
  ui.backendNote.hidden = true;
  ui.notes.textContent = '';
  ui.notes.hidden = true;
  const ownData = ui.data.value === FOLDER ? folder : undefined;
  trainedOn = ownData?.name ?? 'mnist';
  setState('running');
  setStatus('starting…');
  send({
    type: 'start',
    choice,
    dataUrl: new URL('mnist/', location.href).href,
    traceSteps: traceSteps(),
    checkSteps: checkSteps(),
    backend,
    onnx: isFileModel(choice.model) ? upload : undefined,
    folder: ownData,
  });
}

function showStep(r: StepReport): void {
  recordStep(r);
  recentMs = [...recentMs.slice(1 - RATE_WINDOW), r.ms];
  run.step = r.step;
  chart.addLoss(r.step, r.loss);
  const msPerStep = recentMs.reduce((a, b) => a + b, 0) / recentMs.length;
  ui.step.textContent = `${r.step} / ${run.totalSteps}`;
  ui.loss.textContent = r.loss.toFixed(4);
  ui.rate.textContent = (1000 / msPerStep).toFixed(2);
  ui.eta.textContent = duration(((run.totalSteps - r.step) * msPerStep) / 1000);
  if (state === 'running')
    setStatus(`training: epoch ${r.epoch + 1} of ${run.epochs}, step ${r.step} of ${run.totalSteps}`);
}

function showDone(m: Message<'done'>): void {
  setTrainHooks({ testAccuracy: m.testAccuracy, done: true });
  if (m.testAccuracy !== null) ui.accuracy.textContent = percent(m.testAccuracy);
  if (m.stopped && m.testAccuracy !== null) chart.addAccuracy(m.step, m.testAccuracy);
  ui.eta.textContent = '–';
  const how = m.stopped ? `done (stopped at step ${m.step})` : `done: ${m.step} steps`;
  const accuracy = m.testAccuracy === null ? '' : `, test accuracy ${percent(m.testAccuracy)}`;
  setStatus(`${how} in ${duration(m.seconds)}${accuracy}`);
  setState('idle');
}

function addNote(text: string): void {
  ui.notes.textContent = [ui.notes.textContent, text].filter(Boolean).join(' · ');
  ui.notes.hidden = false;
}

function showBackendOf(m: Message<'backend'>): void {
  showBackend(ui.backend, m.backend, m.note);
  ui.backendNote.textContent = m.note ?? '';
  ui.backendNote.hidden = !m.note;
}

function showStarted(m: Message<'started'>): void {
  run = { totalSteps: m.totalSteps, epochs: m.epochs, step: 0 };
  setTrainHooks({ threads: m.threads });
  ui.threads.textContent = String(m.threads);
  chart.reset(m.totalSteps);
  setStatus(`training: epoch 1 of ${m.epochs}, step 0 of ${m.totalSteps}`);
}

function showEpoch(m: Message<'epoch'>): void {
  trainHook((h) => h.epochs.push(m.metrics));
  const accuracy = m.metrics.test_acc;
  if (accuracy === undefined) return; // the pages train classifiers; a metric without accuracy has nothing to show
  ui.accuracy.textContent = percent(accuracy);
  chart.addAccuracy(m.metrics.step, accuracy);
}

function onSnapshot(m: Message<'snapshot'>): void {
  snapshotStep = m.step;
  setTrainHooks({ snapshotStep: m.step });
  updateDownloads();
}

function onExportRefused(m: Message<'export-refused'>): void {
  downloadRefused = m.message;
  setTrainHooks({ downloadRefused: m.message });
  wanted = new Set();
  updateDownloads();
  setStatus(`error: ${m.message}`, true);
}

function onError(m: Message<'error'>): void {
  setTrainHooks({ done: true });
  setState('idle');
  setStatus(`error: ${m.message}`, true);
}

function onMessage(m: FromWorker): void {
  switch (m.type) {
    case 'phase':
      return setStatus(m.text);
    case 'note':
      return addNote(m.text);
    case 'backend':
      return showBackendOf(m);
    case 'step-check':
      return trainHook((h) => {
        h.checks[m.step] = { webgpu: m.webgpu, wasm: m.wasm };
      });
    case 'started':
      return showStarted(m);
    case 'step':
      return showStep(m.report);
    case 'trace':
      return trainHook((h) => {
        h.trace[m.step] = m.state;
      });
    case 'paused':
      setState('paused');
      return setStatus(`paused at step ${m.step}`);
    case 'resumed':
      setState('running');
      return setStatus(`training: step ${run.step} of ${run.totalSteps}`);
    case 'evaluating':
      return setStatus(`evaluating on ${m.images.toLocaleString('en-US')} test images…`);
    case 'epoch':
      return showEpoch(m);
    case 'done':
      return showDone(m);
    case 'snapshot':
      return onSnapshot(m);
    case 'exported':
      return onExported(m);
    case 'export-refused':
      return onExportRefused(m);
    case 'classified':
    case 'classify-failed':
      return answerClassify(m);
    case 'error':
      return onError(m);
  }
}

resetTrainHooks(null);
ui.start.addEventListener('click', () => void start());
ui.pause.addEventListener('click', () => {
  setState('pausing');
  setStatus('pausing after this step…');
  send({ type: 'pause' });
});
ui.resume.addEventListener('click', () => send({ type: 'resume' }));
ui.downloadOnnx.addEventListener('click', () => download('onnx'));
ui.downloadCheckpoint.addEventListener('click', () => download('checkpoint'));
ui.stop.addEventListener('click', () => {
  setState('stopping');
  setStatus('stopping after this step…');
  send({ type: 'stop' });
});
// Typing a number of steps or epochs picks that kind of run.
ui.steps.addEventListener('input', () => (ui.bySteps.checked = true));
ui.epochs.addEventListener('input', () => (ui.byEpochs.checked = true));
setState('idle');
