// The tasks the server offers (GET /api/tasks), as a list to pick one from, and the controls the
// picked one asks for. Nothing here names a task: names, models and controls all come from the
// server. The page knows the controls alone: "mask" (holes painted by the user, required),
// "grow", "strength" and "noise_sigma" (settings sent with the job); an element of the page with
// data-control="NAME" is shown only for a task that asks for NAME.

// The number formats a network may run in other than float32 (the server's "precision").
const FORMATS = { bf16: 'bfloat16', fp16: 'float16' };

export class TaskList {
  // list: the element that receives one radio button a task; note: the line that describes the
  // picked one; onPick(task): called when another task is picked.
  constructor(list, note, onPick) {
    this.list = list;
    this.note = note;
    this.onPick = onPick;
    this.tasks = [];
    this.current = null;
  }

  // Builds the list from the server's report and picks the first task that can run.
  show(tasks) {
    this.tasks = tasks;
    this.list.replaceChildren(...tasks.map((task) => this.item(task)));
    const first = tasks.find((task) => !task.error) ?? tasks[0];
    if (first) this.pick(first.name);
  }

  item(task) {
    const label = document.createElement('label');
    label.className = 'task';
    label.title = task.summary;
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'task';
    radio.value = task.name;
    radio.addEventListener('change', () => this.pick(task.name));
    label.append(radio, ` ${task.name}`);
    if (task.scale !== 1) {
      const size = document.createElement('span');
      size.className = 'note';
      size.textContent = ` ×${task.scale} size`;
      label.append(size);
    }
    label.classList.toggle('unavailable', Boolean(task.error));
    return label;
  }

  pick(name) {
    const task = this.tasks.find((candidate) => candidate.name === name) ?? null;
    this.current = task;
    for (const radio of this.list.querySelectorAll('input[name="task"]')) {
      radio.checked = radio.value === name;
    }
    for (const element of document.querySelectorAll('[data-control]')) {
      element.hidden = !this.takes(element.dataset.control);
    }
    if (task) {
      const format = FORMATS[task.precision];
      const model = format ? `${task.description}, run in ${format}` : task.description;
      this.note.textContent = task.error ?? `Model: ${model}.`;
      this.note.classList.toggle('error', Boolean(task.error));
    }
    this.onPick(task);
  }

  // Whether the picked task asks for `control`.
  takes(control) {
    return this.current?.controls.includes(control) ?? false;
  }
}
