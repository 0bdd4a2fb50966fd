// Applies the theme chosen with the theme button (ui/theme.js) before the page is first painted,
// so a dark choice never flashes light. A classic, blocking script: keep it tiny.
try {
  const theme = localStorage.getItem('inkroom.theme');
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch {
  // Storage disabled: the system theme applies.
}
