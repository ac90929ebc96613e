/**
 * Upper-cases the first character of the text.
 * @param {string} text
 * @returns {string}
 */
export function capitalize(text) {
  const value = String(text);
  return value.charAt(0).toUpperCase() + value.slice(1);
}

/**
 * Shortens the text to at most `maxLength` characters, ending with '…' when it was cut.
 * @param {string} text
 * @param {number} maxLength
 * @returns {string}
 */
export function truncate(text, maxLength) {
  const value = String(text);
  if (value.length <= maxLength) return value;
  if (maxLength <= 0) return '';
  return `${value.slice(0, maxLength - 1)}…`;
}
