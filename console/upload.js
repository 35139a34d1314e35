// Upload: pick or drop several files; one real progress bar per file, then its preview and JSON
// or the API's own error message.
import { uploadFile } from './api.js';
import { preview } from './preview.js';

// A few at a time: enough to fill the pipe, few enough that each bar moves.
const PARALLEL = 3;

function row(file) {
  const li = document.createElement('li');
  li.className = 'upload';
  li.dataset.state = 'uploading';
  const name = document.createElement('span');
  name.className = 'upload-name';
  name.textContent = file.name;
  const bar = document.createElement('progress');
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute('aria-label', `Upload progress of ${file.name}`);
  const status = document.createElement('span');
  status.className = 'upload-status';
  status.textContent = 'Waiting…';
  li.append(name, bar, status);
  return { li, bar, status };
}

async function send(file, { li, bar, status }) {
  let events = 0;
  status.textContent = 'Uploading…';
  try {
    const asset = await uploadFile(file, (loaded, total) => {
      events++;
      li.dataset.progressEvents = String(events);
      bar.value = total > 0 ? loaded / total : 1;
      status.textContent = `${Math.round(100 * bar.value)} %`;
    });
    bar.value = 1;
    li.dataset.state = 'done';
    li.dataset.id = asset.id;
    status.textContent = 'Uploaded';
    const json = document.createElement('pre');
    json.className = 'json';
    json.textContent = JSON.stringify(asset, null, 2);
    // The upload answer has no kind; the MIME type says it.
    li.append(preview({ ...asset, kind: asset.mimeType.startsWith('video/') ? 'video' : 'image', durationMs: null }), json);
    return true;
  } catch (err) {
    li.dataset.state = 'error';
    status.textContent = '';
    const msg = document.createElement('p');
    msg.className = 'error';
    msg.setAttribute('role', 'alert');
    msg.textContent = err.message;
    li.append(msg);
    return false;
  }
}

/** Wires the file input and the drop zone; `onUploaded` runs once a batch has settled. */
export function setupUpload({ input, dropzone, list, onUploaded, announce }) {
  async function start(files) {
    const jobs = [...files].map((file) => {
      const r = row(file);
      list.prepend(r.li);
      return () => send(file, r);
    });
    let ok = 0;
    const worker = async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) if (await job()) ok++;
    };
    const total = jobs.length;
    await Promise.all(Array.from({ length: Math.min(PARALLEL, total) }, worker));
    announce(`${ok} of ${total} uploads finished`);
    if (ok > 0) onUploaded();
  }

  input.addEventListener('change', () => {
    if (input.files.length > 0) start(input.files);
    input.value = '';
  });
  for (const type of ['dragenter', 'dragover']) {
    dropzone.addEventListener(type, (e) => {
      e.preventDefault();
      dropzone.classList.add('over');
    });
  }
  dropzone.addEventListener('dragleave', () => dropzone.classList.remove('over'));
  dropzone.addEventListener('drop', (e) => {
    e.preventDefault();
    dropzone.classList.remove('over');
    if (e.dataTransfer?.files.length) start(e.dataTransfer.files);
  });
}
