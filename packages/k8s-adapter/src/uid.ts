/**
 * A uid derived from a string (`namespace/name`), formatted like a Kubernetes uid, so synthesized
 * pods get the same uid on every run and plans are reproducible.
 */
export function deterministicUid(key: string): string {
  // Four independently seeded 32-bit FNV-1a style hashes give 128 bits; not cryptographic, only stable.
  const words = [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b].map((seed) => {
    let h = seed >>> 0;
    for (let i = 0; i < key.length; i++) {
      h ^= key.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
      h ^= h >>> 13;
    }
    return (Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0).toString(16).padStart(8, "0");
  });
  const hex = words.join("");
  // Version nibble 8 marks a custom (RFC 9562 v8) UUID: clearly not a server-assigned v4.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
