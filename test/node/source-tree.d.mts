/** Every .ts/.tsx file under src/ but .d.ts, with its path relative to src/ ("watcher/store.ts"). */
export function sourceFiles(): { path: string; text: string }[];
