// Inspect: every field, the two URLs with copy buttons, the image or a playable video, and delete.
import { deleteAsset, formatBytes, formatDuration, redirectUrl } from './api.js';

export function createDetail({ dialog, confirm, onDeleted, onError, announce }) {
  const $ = (sel) => dialog.querySelector(sel);
  let current = null;
  let opener = null;

  function field(dl, key, value) {
    const dt = document.createElement('dt');
    dt.textContent = key;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dd.dataset.field = key;
    dl.append(dt, dd);
  }

  function readable(key, value) {
    if (value === null) return '—';
    if (key === 'sizeBytes') return `${value} bytes (${formatBytes(value)})`;
    if (key === 'durationMs') return `${value} ms (${formatDuration(value)})`;
    return String(value);
  }

  function open(asset, from) {
    current = asset;
    opener = from;
    $('#detail-title').textContent = asset.name;
    const media = document.createElement(asset.kind === 'video' ? 'video' : 'img');
    if (asset.kind === 'video') {
      media.controls = true;
      media.preload = 'metadata';
      media.playsInline = true;
    } else {
      media.alt = asset.name;
    }
    media.src = asset.href;
    media.id = 'detail-player';
    $('#detail-media').replaceChildren(media);
    $('#file-url').value = asset.href;
    $('#redirect-url').value = redirectUrl(asset.href);
    const dl = $('#detail-fields');
    dl.replaceChildren();
    // Every field the API returned, so a new field shows up here without a console change.
    for (const [key, value] of Object.entries(asset)) field(dl, key, readable(key, value));
    $('#detail-status').textContent = '';
    dialog.showModal();
  }

  async function copy(input, button) {
    try {
      await navigator.clipboard.writeText(input.value);
      $('#detail-status').textContent = 'Copied to the clipboard.';
    } catch {
      // No clipboard access (an insecure origin, say): select it for Ctrl+C instead.
      input.select();
      $('#detail-status').textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
    }
    button.focus();
  }

  dialog.addEventListener('close', () => {
    // Stop a playing video, and give the focus back to the card that opened the panel.
    $('#detail-media').replaceChildren();
    opener?.isConnected ? opener.focus() : document.querySelector('#gallery button')?.focus();
  });
  $('#detail-close').addEventListener('click', () => dialog.close());
  for (const button of dialog.querySelectorAll('[data-copy]')) {
    button.addEventListener('click', () => copy($(`#${button.dataset.copy}`), button));
  }
  $('#delete').addEventListener('click', () => {
    confirm.querySelector('#confirm-text').textContent =
      `“${current.name}” will be removed at once; its links will answer 404. This cannot be undone.`;
    confirm.returnValue = '';
    confirm.showModal();
  });
  confirm.addEventListener('close', async () => {
    if (confirm.returnValue !== 'delete' || current === null) return;
    const asset = current;
    try {
      await deleteAsset(asset.id);
      dialog.close();
      onDeleted(asset);
      announce(`Deleted ${asset.name}`);
    } catch (err) {
      if (err.status === 404) {
        dialog.close();
        onDeleted(asset);
      } else onError(err);
    }
  });

  return { open };
}
