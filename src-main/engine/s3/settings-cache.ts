// One client per connection's settings in a thread, so its sockets are reused: the SDK's clients
// (s3/client.ts) in the main thread, the part workers' direct ones (s3/direct-request.ts). Loads
// nothing, so a worker can use it without the SDK.
/** C is the settings (plain data, compared as JSON), T the client made from them. */
export class SettingsCache<C, T extends { destroy(): void }> {
  private readonly clients = new Map<string, T>();

  constructor(private readonly create: (c: C) => T) {}

  get(c: C): T {
    const key = JSON.stringify(c);
    let client = this.clients.get(key);
    if (!client) {
      if (this.clients.size >= 8) this.clear();
      client = this.create(c);
      this.clients.set(key, client);
    }
    return client;
  }

  clear(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}
