// The console's entry point: sign in, then wire upload, gallery and detail together.
import { listAssets, token } from './api.js';
import { createDetail } from './detail.js';
import { createGallery } from './gallery.js';
import { setupUpload } from './upload.js';

const $ = (sel) => document.querySelector(sel);
const announce = (text) => {
  $('#announce').textContent = text;
};

function showSignIn(message = '') {
  token.clear();
  $('#workspace').hidden = true;
  $('#signout').hidden = true;
  $('#signin').hidden = false;
  $('#signin-error').textContent = message;
  gallery.clear();
  $('#token').focus();
}

function showWorkspace() {
  $('#signin').hidden = true;
  $('#workspace').hidden = false;
  $('#signout').hidden = false;
  gallery.reload();
}

// A token rejected mid-session (rotated on the server) sends the user back to sign in.
function onError(err) {
  if (err.status === 401) showSignIn('Your token is no longer accepted; sign in again.');
  else announce(err.message);
  if (err.status !== 401) $('#gallery-status').textContent = err.message;
}

const gallery = createGallery({
  list: $('#gallery'),
  more: $('#more'),
  status: $('#gallery-status'),
  filters: $('#filters'),
  onOpen: (asset, button) => detail.open(asset, button),
  onError,
});

const detail = createDetail({
  dialog: $('#detail'),
  confirm: $('#confirm'),
  onDeleted: (asset) => {
    gallery.remove(asset.id);
    $('#gallery-status').textContent = `Deleted ${asset.name}.`;
  },
  onError: (err) => {
    $('#detail-status').textContent = err.message;
    onError(err);
  },
  announce,
});

setupUpload({
  input: $('#files'),
  dropzone: $('#dropzone'),
  list: $('#uploads'),
  onUploaded: () => gallery.reload(),
  announce,
});

$('#signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const value = $('#token').value.trim();
  if (value === '') {
    $('#signin-error').textContent = 'Enter your upload token.';
    return;
  }
  $('#signin-error').textContent = 'Checking…';
  try {
    // The cheapest call that needs the token: it either lists or answers 401.
    await listAssets({ limit: 1 }, value);
  } catch (err) {
    $('#signin-error').textContent =
      err.status === 401 ? 'Wrong token: the server does not accept it. Check it and try again.' : err.message;
    $('#token').select();
    return;
  }
  token.set(value);
  $('#token').value = '';
  $('#signin-error').textContent = '';
  showWorkspace();
});

$('#signout').addEventListener('click', () => showSignIn('Signed out.'));

if (token.get()) showWorkspace();
else showSignIn();
