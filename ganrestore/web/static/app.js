// The page of `ganrestore serve`: open a photo, paint a mask, restore, compare, undo, save.
// Everything heavy happens on the server; this file wires the controls to it. The tasks and what
// each asks for come from the server (tasks.js): no task is named here.

import * as api from './api.js';
import { History } from './history.js';
import { wireGestures } from './gestures.js';
import { MaskPainter, tintedMask } from './mask.js';
import { TaskList } from './tasks.js';
import { View } from './view.js';

const $ = (id) => document.getElementById(id);
const els = {
  after: $('after'),
  before: $('before'),
  clear: $('clear'),
  compare: $('compare'),
  cursor: $('cursor'),
  download: $('download'),
  file: $('file'),
  fit: $('fit'),
  actual: $('actual'),
  grow: $('grow'),
  inputs: $('inputs'),
  inputsBox: $('inputs-box'),
  inputsTitle: $('inputs-title'),
  mask: $('mask'),
  maskNote: $('mask-note'),
  message: $('message'),
  next: $('next'),
  noiseSigma: $('noise-sigma'),
  outputInfo: $('output-info'),
  photoInfo: $('photo-info'),
  progress: $('progress'),
  progressBox: $('progress-box'),
  progressText: $('progress-text'),
  redo: $('redo'),
  run: $('run'),
  save: $('save'),
  size: $('size'),
  sizeValue: $('size-value'),
  split: $('split'),
  stage: $('stage'),
  strength: $('strength'),
  strengthValue: $('strength-value'),
  taskNote: $('task-note'),
  tasks: $('tasks'),
  undo: $('undo'),
  viewport: $('viewport'),
  zoomValue: $('zoom-value'),
};

const state = {
  config: null,
  photo: null, // the server's description of the open photo
  version: 0, // the version shown, and restored by the next run
  width: 0, // its size: a task may change it
  height: 0,
  before: null, // the version it is compared with (the input of the last run), or null
  busy: false,
  tool: 'brush',
  size: Number(els.size.value),
  saved: new Set(),
};
const history = new History();
const painter = new MaskPainter(els.mask);
const view = new View(els.viewport, els.stage, els.zoomValue);
const tasks = new TaskList(els.tasks, els.taskNote, pickedTask);
// The settings a job sends, by the control that asks for them (null: left to the model).
const SETTINGS = {
  grow: () => Number(els.grow.value),
  strength: () => Number(els.strength.value) / 100,
  noise_sigma: () => (els.noiseSigma.value.trim() === '' ? null : Number(els.noiseSigma.value)),
};

// The number fields of the settings take the ranges the server checks (GET /api/config).
function limitFields(ranges) {
  const fields = { grow: els.grow, noise_sigma: els.noiseSigma };
  for (const [name, field] of Object.entries(fields)) {
    if (!ranges?.[name]) continue;
    [field.min, field.max] = ranges[name].map(String);
  }
}

function say(text, kind = '') {
  els.message.textContent = text;
  els.message.className = kind;
}

function fail(error) {
  say(error?.message ?? String(error), 'error');
}

async function loadImage(image, url) {
  image.src = url;
  try {
    await image.decode();
  } catch {
    throw new Error(`the server sent no picture for ${url}`);
  }
}

function updateControls() {
  const open = state.photo !== null;
  const idle = open && !state.busy;
  const task = tasks.current;
  els.run.disabled = !idle || task === null || Boolean(task.error);
  // A painted mask that the picked task does not use stays for another one: say so.
  els.maskNote.hidden = task === null || tasks.takes('mask') || !painter.hasHoles;
  if (!els.maskNote.hidden) els.maskNote.textContent = `Not used by ${task.name} (kept).`;
  els.undo.disabled = state.busy || !history.canUndo;
  els.redo.disabled = state.busy || !history.canRedo;
  els.clear.disabled = !idle || (painter.strokes.length === 0 && painter.base === null);
  els.save.disabled = !idle || !state.config?.output;
  els.compare.disabled = !open || state.before === null;
  if (open) {
    els.download.href = api.fileUrl(state.photo, state.version);
    const dot = state.photo.name.lastIndexOf('.');
    const name = state.photo.name;
    els.download.download = `${name.slice(0, dot)}-restored${name.slice(dot)}`;
  }
  els.download.setAttribute('aria-disabled', String(!idle));
  els.after.dataset.version = String(state.version);
  document.body.dataset.state = !open ? 'empty' : state.busy ? 'busy' : 'ready';
}

function setBusy(busy) {
  state.busy = busy;
  if (!busy) els.progressBox.hidden = true;
  updateControls();
}

function updateCompare() {
  const share = state.before === null ? 0 : Number(els.compare.value);
  els.before.hidden = share === 0;
  els.split.hidden = share === 0 || share === 100;
  els.before.style.clipPath = `inset(0 ${100 - share}% 0 0)`;
  els.split.style.left = `${share}%`;
  els.split.style.borderLeftWidth = `${2 / view.scale}px`;
}

function describe(photo) {
  const size = `${photo.width}×${photo.height}`;
  const parts = [`${photo.name}: ${size}, ${photo.format} ${photo.bit_depth}-bit`];
  if (photo.channels === 1) parts.push('gray');
  if (photo.alpha) parts.push('with alpha');
  const kept = [photo.exif && 'EXIF', photo.icc && 'ICC colour profile'].filter(Boolean);
  if (kept.length) parts.push(`${kept.join(' and ')} kept`);
  if (photo.mask) parts.push(`mask from ${photo.mask_source}`);
  return parts.join(', ');
}

// Shows a photo the server has just opened.
async function show(photo) {
  await loadImage(els.after, api.previewUrl(photo, photo.version));
  let base = null;
  if (photo.mask) {
    const found = new Image();
    await loadImage(found, api.foundMaskUrl(photo));
    base = tintedMask(found);
  }
  state.photo = photo;
  state.version = photo.version;
  state.before = null;
  history.clear();
  els.stage.hidden = false;
  setPhotoSize(photo.width, photo.height);
  painter.setState([], base);
  els.compare.value = 0;
  updateCompare();
  els.photoInfo.textContent = describe(photo);
  offerNext(null);
  for (const button of els.inputs.querySelectorAll('button')) {
    button.classList.toggle('current', photo.listed && button.dataset.name === photo.name);
  }
  updateControls();
}

async function opening(what, open) {
  if (state.busy) return;
  setBusy(true);
  say(`Opening ${what}…`);
  try {
    const photo = await open();
    await show(photo);
    say(photo.mask ? `Opened ${photo.name}; its mask is painted already.` : `Opened ${photo.name}.`);
  } catch (error) {
    fail(error);
  } finally {
    setBusy(false);
  }
}

function openInput(name) {
  return opening(name, () => api.openInput(name));
}

function openFile(file) {
  const limit = state.config?.max_upload_bytes;
  if (limit && file.size > limit) {
    const size = (file.size / 1e6).toFixed(1);
    say(`${file.name} is ${size} MB, above the upload limit of ${limit / 1e6} MB.`, 'error');
    return Promise.resolve();
  }
  return opening(file.name, () => api.upload(file));
}

// The stage, photo, comparison and mask at `width` x `height` pixels (the mask is cleared): the
// photo before a restoration that enlarged it is shown enlarged to the result's size.
function setPhotoSize(width, height) {
  state.width = width;
  state.height = height;
  for (const image of [els.after, els.before]) {
    image.style.width = `${width}px`;
    image.style.height = `${height}px`;
  }
  painter.reset(width, height);
  view.setImageSize(width, height);
}

// Shows `version` (of `size`: { width, height }), compared with `before` (or null).
async function setVersion(version, before, size) {
  await loadImage(els.after, api.previewUrl(state.photo, version));
  if (before !== null) await loadImage(els.before, api.previewUrl(state.photo, before));
  if (size.width !== state.width || size.height !== state.height) {
    setPhotoSize(size.width, size.height);
  }
  state.version = version;
  state.before = before;
  els.compare.value = before === null ? 0 : 50;
  updateCompare();
}

function showProgress(job, label) {
  els.progressBox.hidden = false;
  let text = `${label}…`;
  if (job.state === 'queued') text = `${label}: waiting for its turn…`;
  if (job.state === 'loading') text = `${label}: loading the model (once: a few seconds)…`;
  if (job.state === 'running' && job.total > 0) {
    els.progress.value = job.done / job.total;
    text = `${label}… ${Math.round((100 * job.done) / job.total)} %`;
  } else {
    els.progress.removeAttribute('value');
  }
  els.progressText.textContent = text;
}

// Called when another task is picked.
function pickedTask(task) {
  els.run.textContent = task === null ? 'Run' : `Run ${task.name}`;
  updateControls();
}

async function run() {
  const task = tasks.current;
  if (!state.photo || state.busy || !task || task.error) return;
  const photo = state.photo;
  const from = state.version;
  let mask = null;
  const settings = {};
  if (tasks.takes('mask')) {
    if (!painter.hasHoles) {
      say('Paint over what to remove first: the mask is empty.', 'error');
      return;
    }
    mask = await painter.toPng();
  }
  for (const [control, read] of Object.entries(SETTINGS)) {
    if (tasks.takes(control)) settings[control] = read();
  }
  const label = `Running ${task.name}`;
  say(''); // the progress line says what runs, once
  setBusy(true);
  try {
    let job = await api.startJob(photo, from, task.name, mask, settings);
    job = await api.waitForJob(job, (current) => showProgress(current, label));
    if (state.photo !== photo) return;
    const previous = {
      version: from,
      width: state.width,
      height: state.height,
      strokes: painter.strokes,
      base: painter.base,
      before: state.before,
    };
    // A fill uses the mask up, and a mask does not fit a result of another size; otherwise it
    // stays for a fill to come.
    const resized = job.width !== state.width || job.height !== state.height;
    const { strokes, base } = mask !== null || resized ? { strokes: [], base: null } : previous;
    const next = { version: job.version, before: from, width: job.width, height: job.height };
    Object.assign(next, { strokes, base });
    await setVersion(job.version, from, next);
    painter.setState([...next.strokes], next.base);
    history.push({ type: 'run', from: previous, to: next });
    const now = resized ? ` (now ${job.width}×${job.height})` : '';
    say(`${task.name} done in ${job.seconds} s${now}: slide to compare; go on from here.`, 'ok');
  } catch (error) {
    fail(error);
  } finally {
    setBusy(false);
  }
}

async function step(action, backwards) {
  if (action.type === 'stroke') {
    if (backwards) painter.strokes.splice(painter.strokes.lastIndexOf(action.stroke), 1);
    else painter.strokes.push(action.stroke);
    painter.redraw();
  } else if (action.type === 'clear') {
    painter.setState(backwards ? [...action.strokes] : [], backwards ? action.base : null);
  } else if (action.type === 'run') {
    const target = backwards ? action.from : action.to;
    await setVersion(target.version, target.before, target);
    painter.setState([...target.strokes], target.base);
    say(backwards ? 'Back to the photo before this restoration.' : 'Restoration redone.');
  }
}

async function undoOrRedo(backwards) {
  if (state.busy || !state.photo) return;
  const action = backwards ? history.undo() : history.redo();
  if (!action) return;
  try {
    await step(action, backwards);
  } catch (error) {
    fail(error);
  }
  updateControls();
}

function clearMask() {
  if (painter.strokes.length === 0 && painter.base === null) return;
  history.push({ type: 'clear', strokes: painter.strokes, base: painter.base });
  painter.setState([], null);
  updateControls();
}

async function saveResult() {
  if (!state.photo || state.busy) return;
  const photo = state.photo;
  try {
    const answer = await api.save(photo, state.version);
    if (photo.listed) markSaved(photo.name);
    const note = `Saved ${answer.saved}.`;
    const last = photo.listed && !answer.next ? ' That was the last photo of the folder.' : '';
    say(`${note}${last}`, 'ok');
    // The photo stays open (it may need more work): the next one is offered, not opened.
    if (state.photo === photo) offerNext(answer.next);
  } catch (error) {
    fail(error);
  }
}

// Shows the button that opens the photo after this one in --in (null: hides it).
function offerNext(name) {
  els.next.hidden = !name;
  els.next.dataset.name = name ?? '';
  els.next.textContent = name ? `Next photo: ${name}` : 'Next photo';
}

function markSaved(name) {
  state.saved.add(name);
  const button = els.inputs.querySelector(`button[data-name="${CSS.escape(name)}"]`);
  button?.classList.add('saved');
}

function setTool(tool) {
  state.tool = tool;
  document.querySelector(`input[name="tool"][value="${tool}"]`).checked = true;
  els.cursor.classList.toggle('eraser', tool === 'eraser');
}

function setSize(size) {
  state.size = Math.min(Number(els.size.max), Math.max(Number(els.size.min), Math.round(size)));
  els.size.value = String(state.size);
  els.sizeValue.textContent = String(state.size);
  els.cursor.style.width = els.cursor.style.height = `${state.size}px`;
}

function wireControls() {
  els.file.addEventListener('change', () => {
    const file = els.file.files[0];
    els.file.value = '';
    if (file) openFile(file);
  });
  for (const radio of document.querySelectorAll('input[name="tool"]')) {
    radio.addEventListener('change', () => setTool(radio.value));
  }
  els.size.addEventListener('input', () => setSize(Number(els.size.value)));
  els.strength.addEventListener('input', () => {
    els.strengthValue.textContent = `${els.strength.value} %`;
  });
  els.undo.addEventListener('click', () => undoOrRedo(true));
  els.redo.addEventListener('click', () => undoOrRedo(false));
  els.clear.addEventListener('click', clearMask);
  els.run.addEventListener('click', run);
  els.compare.addEventListener('input', updateCompare);
  els.save.addEventListener('click', saveResult);
  els.next.addEventListener('click', () => openInput(els.next.dataset.name));
  els.fit.addEventListener('click', () => view.fit());
  els.actual.addEventListener('click', () => view.zoomTo(1));
  window.addEventListener('resize', () => view.fit());
}

async function showInputs() {
  const listing = await api.listInputs();
  els.inputsTitle.textContent = `In ${listing.folder} (${listing.images.length})`;
  els.inputs.replaceChildren(
    ...listing.images.map((image) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = image.name;
      button.dataset.name = image.name;
      button.classList.toggle('saved', image.saved);
      button.addEventListener('click', () => openInput(image.name));
      item.append(button);
      return item;
    }),
  );
  els.inputsBox.hidden = false;
}

async function showTasks() {
  try {
    tasks.show((await api.getTasks()).tasks);
  } catch (error) {
    els.taskNote.textContent = error.message;
    els.taskNote.classList.add('error');
  }
  updateControls();
}

async function start() {
  wireGestures({
    viewport: els.viewport,
    cursor: els.cursor,
    state,
    painter,
    view,
    history,
    on: { undoOrRedo, setTool, setSize, openFile, updateControls, updateCompare },
  });
  wireControls();
  setSize(state.size);
  const offered = showTasks(); // the server's first answer waits for its models to load
  try {
    state.config = await api.getConfig();
    limitFields(state.config.setting_ranges);
    const output = state.config.output;
    els.save.textContent = output ? `Save to ${output}` : 'Save to folder';
    els.outputInfo.textContent = output
      ? `Saved as the same file name in ${output}; an existing file is never replaced.`
      : 'No --out folder given: download the result.';
    if (state.config.input) await showInputs();
  } catch (error) {
    fail(error);
  }
  await offered;
  updateControls();
}

start();
