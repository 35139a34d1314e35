// Browse: newest first, a page at a time, filtered by type and name.
import { listAssets } from './api.js';
import { preview } from './preview.js';

const PAGE = 24;

export function createGallery({ list, more, status, filters, onOpen, onError }) {
  let cursor = null;
  let query = {};
  // Each load gets a number; an answer to an older load (a filter changed meanwhile) is dropped.
  let generation = 0;

  function card(asset) {
    const li = document.createElement('li');
    li.dataset.id = asset.id;
    li.dataset.kind = asset.kind;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'card';
    button.setAttribute('aria-label', `Open ${asset.name} (${asset.kind})`);
    const name = document.createElement('span');
    name.className = 'card-name';
    name.textContent = asset.name;
    button.append(preview(asset), name);
    button.addEventListener('click', () => onOpen(asset, button));
    li.append(button);
    return li;
  }

  async function load(reset) {
    const mine = ++generation;
    if (reset) cursor = null;
    more.disabled = true;
    try {
      const page = await listAssets({ limit: PAGE, cursor: cursor ?? undefined, ...query });
      if (mine !== generation) return;
      if (reset) list.replaceChildren();
      list.append(...page.items.map(card));
      cursor = page.nextCursor;
      more.hidden = cursor === null;
      const n = list.children.length;
      status.textContent = n === 0 ? (query.q || query.kind ? 'Nothing matches.' : 'No assets yet: upload some above.') : `${n} shown${cursor ? ', more below' : ''}`;
    } catch (err) {
      if (mine === generation) onError(err);
    } finally {
      more.disabled = false;
    }
  }

  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(filters);
    query = { kind: data.get('kind') || undefined, q: String(data.get('q') ?? '').trim() || undefined };
    load(true);
  });
  // Changing the type applies at once; the name waits for Enter or Search.
  filters.elements.kind.addEventListener('change', () => filters.requestSubmit());
  more.addEventListener('click', () => load(false));

  return {
    reload: () => load(true),
    remove(id) {
      list.querySelector(`li[data-id="${CSS.escape(id)}"]`)?.remove();
    },
    clear() {
      list.replaceChildren();
      status.textContent = '';
    },
  };
}
