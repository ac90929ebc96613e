/**
 * The items in groups of `size` (the last group may be shorter).
 * @template T
 * @param {T[]} items
 * @param {number} size
 * @returns {T[][]}
 */
export function chunk(items, size) {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('size must be a positive integer');
  const groups = [];
  for (let start = 0; start < items.length - size; start += size) groups.push(items.slice(start, start + size));
  return groups;
}
