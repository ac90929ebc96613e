/**
 * Milliseconds as `1h 2m 3s` (parts that are zero left out; `0s` for nothing).
 * @param {number} ms
 * @returns {string}
 */
export function formatDuration(ms) {
  const total = Math.floor(ms / 1000);
  const parts = [
    [Math.floor(total / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'm'],
    [total % 60, 's'],
  ].filter(([n]) => n > 0);
  return parts.length ? parts.map(([n, unit]) => `${n}${unit}`).join(' ') : '0s';
}
