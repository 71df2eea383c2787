// Entry: picks the HoistApi (Electron preload, or the headless host's WebSocket bridge) and mounts the app.
import { mount } from 'svelte';
import App from './App.svelte';
import { connect, type ConnectedApi } from './lib/api.js';
import './styles/app.css';

async function connectOrFake(): Promise<ConnectedApi> {
  // Replaced by a constant at build time: the production bundle holds no trace of the fake.
  if (__HOIST_FAKE__) {
    const { createFakeApi } = await import('./lib/fake-api.js');
    return { api: createFakeApi(), onStatus: null, files: null, support: null };
  }
  return connect();
}

mount(App, { target: document.getElementById('app')!, props: { connected: await connectOrFake() } });
