// Talking to the ganrestore server: JSON in and out; a refusal becomes an ApiError whose
// message is the server's own (shown on the page as it is).

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export async function request(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    const reason = `the server did not answer (${error.message})`;
    throw new ApiError(`${reason}; is ganrestore serve still running?`, 0);
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (typeof body.detail === 'string') detail = body.detail;
      else if (body.detail) detail = JSON.stringify(body.detail);
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(detail, response.status);
  }
  return response.json();
}

export const getConfig = () => request('/api/config');
// Every installed task: { name, summary, scale, model, description, controls, error }.
export const getTasks = () => request('/api/tasks');
export const listInputs = () => request('/api/inputs');

export function openInput(name) {
  return request('/api/inputs/open', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
}

export function upload(file) {
  return request(`/api/uploads?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: file,
  });
}

export const previewUrl = (photo, version) =>
  `/api/photos/${photo.id}/versions/${version}/preview.png`;
export const foundMaskUrl = (photo) => `/api/photos/${photo.id}/mask.png`;
export const fileUrl = (photo, version) => `/api/photos/${photo.id}/versions/${version}/file`;

// settings: { grow, strength, noise_sigma } as the task asks for them, each left out when null
// or undefined.
export function startJob(photo, version, task, mask, settings = {}) {
  const query = new URLSearchParams({ task, version: String(version) });
  for (const [name, value] of Object.entries(settings)) {
    if (value !== null && value !== undefined) query.set(name, String(value));
  }
  const options = { method: 'POST' };
  if (mask) {
    options.body = mask;
    options.headers = { 'content-type': 'image/png' };
  }
  return request(`/api/photos/${photo.id}/jobs?${query}`, options);
}

export const getJob = (id) => request(`/api/jobs/${id}`);

export function save(photo, version) {
  return request(`/api/photos/${photo.id}/versions/${version}/save`, { method: 'POST' });
}

// Polls a job until it ends; onProgress(job) is called on each answer. Resolves with the
// finished job, rejects with an ApiError when it failed.
export async function waitForJob(job, onProgress, interval = 250) {
  for (;;) {
    onProgress(job);
    if (job.state === 'done') return job;
    if (job.state === 'failed') throw new ApiError(job.message, 0);
    await new Promise((resolve) => setTimeout(resolve, interval));
    job = await getJob(job.id);
  }
}
