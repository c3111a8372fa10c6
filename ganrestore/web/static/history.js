// Undo and redo: two stacks of actions. What an action is and how it is undone is up to the
// caller; a new action forgets what could be redone.

export class History {
  constructor() {
    this.clear();
  }

  clear() {
    this.done = [];
    this.undone = [];
  }

  push(action) {
    this.done.push(action);
    this.undone = [];
  }

  get canUndo() {
    return this.done.length > 0;
  }

  get canRedo() {
    return this.undone.length > 0;
  }

  // The action to undo (moved to the redo stack), or null.
  undo() {
    const action = this.done.pop() ?? null;
    if (action) this.undone.push(action);
    return action;
  }

  // The action to redo (moved back), or null.
  redo() {
    const action = this.undone.pop() ?? null;
    if (action) this.done.push(action);
    return action;
  }
}
