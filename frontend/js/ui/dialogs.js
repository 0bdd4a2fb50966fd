// Modal dialogs (<dialog>): opened by a button, closed by their × button, Escape (native) or a
// click on the backdrop. Focus returns to the opener.

/**
 * @param {HTMLDialogElement} dialog
 * @param {HTMLElement | null} opener button that opens it (optional)
 * @param {() => void} [onOpen] called before showing, to fill the dialog in
 * @returns {() => void} opens the dialog
 */
export function setupDialog(dialog, opener, onOpen) {
  const open = () => {
    if (dialog.open) return;
    onOpen?.();
    dialog.showModal();
  };
  opener?.addEventListener('click', open);
  for (const b of dialog.querySelectorAll('.dialog-close')) b.addEventListener('click', () => dialog.close());
  // A click on the backdrop lands on the dialog element itself, outside its content box.
  dialog.addEventListener('click', (e) => {
    if (e.target !== dialog) return;
    const r = dialog.getBoundingClientRect();
    const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
    if (!inside) dialog.close();
  });
  dialog.addEventListener('close', () => opener?.focus());
  return open;
}

/** Whether a modal dialog is open (page shortcuts are off meanwhile). */
export function dialogOpen() {
  return document.querySelector('dialog[open]') !== null;
}

/**
 * Asks a yes/no question in the page's own dialog: resolves true when its `[value=ok]` button
 * is pressed, false when it is closed any other way (Cancel, ×, Escape, the backdrop).
 * @param {HTMLDialogElement} dialog a `<dialog>` with a `form[method=dialog]` and an ok button
 * @param {HTMLElement | null} opener where the focus returns
 * @returns {Promise<boolean>}
 */
export function confirmDialog(dialog, opener) {
  if (dialog.open) return Promise.resolve(false);
  return new Promise((resolve) => {
    dialog.returnValue = '';
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok');
      opener?.focus();
    }, { once: true });
    dialog.showModal();
  });
}
