import type { Blobs } from '../../functions/shared/ports';

/** The Blobs port in memory, for unit tests; presigned URLs are `memory://<method>/<key>`. */
export class MemoryBlobs implements Blobs {
  readonly objects = new Map<string, Uint8Array>();
  async put(key: string, body: Uint8Array) {
    this.objects.set(key, body);
  }
  async get(key: string) {
    return this.objects.get(key);
  }
  async exists(key: string) {
    return this.objects.has(key);
  }
  async presign(key: string, method: 'GET' | 'PUT') {
    return `memory://${method}/${key}`;
  }
}
