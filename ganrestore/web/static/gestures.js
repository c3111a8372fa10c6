// Mouse, keys and drops on the page: painting and erasing, zoom and pan, shortcuts, files
// dropped anywhere. `env` holds what they act on (the state, the mask painter, the view, the
// undo history) and the page's own actions (`env.on`).

function moveCursor(env, event) {
  const box = env.viewport.getBoundingClientRect();
  env.cursor.style.left = `${event.clientX - box.left}px`;
  env.cursor.style.top = `${event.clientY - box.top}px`;
  env.cursor.hidden = !env.state.photo;
}

// Painting, panning and zooming on the photo.
let drag = null;
let spaceDown = false;

function wirePointer(env) {
  const viewport = env.viewport;
  viewport.addEventListener('pointerdown', (event) => {
    if (!env.state.photo) return;
    viewport.focus();
    if (event.button === 1 || (event.button === 0 && spaceDown)) {
      drag = { mode: 'pan', x: event.clientX, y: event.clientY };
      viewport.classList.add('panning');
    } else if (event.button === 0 && !env.state.busy) {
      drag = { mode: 'paint' };
      const point = env.view.toImage(event.clientX, event.clientY);
      env.painter.begin(point, env.state.tool, env.state.size / env.view.scale);
    } else {
      return;
    }
    viewport.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  viewport.addEventListener('pointermove', (event) => {
    moveCursor(env, event);
    if (drag?.mode === 'pan') {
      env.view.panBy(event.clientX - drag.x, event.clientY - drag.y);
      drag.x = event.clientX;
      drag.y = event.clientY;
    } else if (drag?.mode === 'paint') {
      const events = event.getCoalescedEvents?.() ?? [event];
      for (const each of events.length ? events : [event]) {
        env.painter.extend(env.view.toImage(each.clientX, each.clientY));
      }
    }
  });
  const finish = () => {
    if (drag?.mode === 'paint') {
      const stroke = env.painter.end();
      if (stroke) env.history.push({ type: 'stroke', stroke });
    }
    drag = null;
    viewport.classList.remove('panning');
    env.on.updateControls();
  };
  viewport.addEventListener('pointerup', finish);
  viewport.addEventListener('pointercancel', finish);
  viewport.addEventListener('pointerleave', () => {
    env.cursor.hidden = true;
  });
  viewport.addEventListener('wheel', (event) => {
    event.preventDefault();
    if (!env.state.photo) return;
    env.view.zoomBy(Math.exp(-event.deltaY * 0.0015), event.clientX, event.clientY);
  }, { passive: false });
  viewport.addEventListener('viewchange', env.on.updateCompare);
  viewport.addEventListener('auxclick', (event) => event.preventDefault());
}

function wireKeys(env) {
  window.addEventListener('keydown', (event) => {
    const typing = event.target.matches?.('input[type="number"], input[type="text"], textarea');
    const key = event.key.toLowerCase();
    if ((event.ctrlKey || event.metaKey) && (key === 'z' || key === 'y')) {
      if (typing) return;
      event.preventDefault();
      env.on.undoOrRedo(key === 'z' && !event.shiftKey);
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const stepBy = Math.max(1, Math.round(env.state.size * 0.15));
    const actions = {
      '[': () => env.on.setSize(env.state.size - stepBy),
      ']': () => env.on.setSize(env.state.size + stepBy),
      b: () => env.on.setTool('brush'),
      e: () => env.on.setTool('eraser'),
      0: () => env.view.fit(),
      '+': () => env.view.zoomBy(1.25),
      '=': () => env.view.zoomBy(1.25),
      '-': () => env.view.zoomBy(0.8),
      ' ': () => {
        spaceDown = true;
        env.viewport.classList.add('panning');
      },
    };
    if (actions[key]) {
      event.preventDefault();
      actions[key]();
    }
  });
  window.addEventListener('keyup', (event) => {
    if (event.key === ' ') {
      spaceDown = false;
      if (drag?.mode !== 'pan') env.viewport.classList.remove('panning');
    }
  });
}

function wireDrop(env) {
  const hasFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes('Files');
  window.addEventListener('dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    document.body.classList.add('dragging');
  });
  window.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null) document.body.classList.remove('dragging');
  });
  window.addEventListener('drop', (event) => {
    event.preventDefault();
    document.body.classList.remove('dragging');
    const file = event.dataTransfer?.files?.[0];
    if (file) env.on.openFile(file);
  });
}

export function wireGestures(env) {
  wirePointer(env);
  wireKeys(env);
  wireDrop(env);
}
