/// <reference types="svelte" />
/// <reference types="vite/client" />

/** True only in the `--mode fake` dev/screenshot build (see vite.config.ts). */
declare const __HOIST_FAKE__: boolean;
