/**
 * Uploads never attached are deleted after a day (limits.uploadOrphanHours), objects first. The
 * sweeper claims each upload before deleting it, as a message would: a send racing the sweep
 * either claims it first (and it stays) or finds it gone. Any number of processes may sweep.
 */
import { limits } from '../contract/limits';
import type { Logger } from '../lib/log';
import type { MediaStore } from '../media/media';
import type { Store } from '../store/store';
import { objectKeysOf } from './keys';

/** What a sweep works with. */
export interface SweepDeps {
  store: Store;
  media: MediaStore;
  now: () => Date;
  log: Logger;
}

/** The holder name a sweep claims uploads under. */
const SWEEP = 'sweep';

/** Uploads looked at per read. */
const BATCH = 100;

/** Deletes the uploads older than the orphan age that nothing claimed; how many it deleted. */
export async function sweepUploads(deps: SweepDeps): Promise<number> {
  const { store, media } = deps;
  const before = new Date(deps.now().getTime() - limits.uploadOrphanHours * 3600_000);
  let deleted = 0;
  for (;;) {
    const stale = await store.uploads.listUnclaimed(before, BATCH);
    if (stale.length === 0) return deleted;
    for (const upload of stale) {
      if ((await store.uploads.claim([upload.id], SWEEP)).status !== 'ok') continue;
      await media.delete(objectKeysOf(upload));
      await store.uploads.delete([upload.id]);
      deleted++;
    }
    if (stale.length < BATCH) return deleted;
  }
}

/** Sweeps every `intervalMs` until stopped; failures are logged and the next round tries again. */
export function startUploadSweeper(deps: SweepDeps, intervalMs: number): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    // One sweep at a time: a slow one is not joined by the next.
    running ??= sweepUploads(deps)
      .then(
        (count) => count > 0 && deps.log.info(`upload sweeper: deleted ${count} upload(s) never attached`),
        (error: unknown) => deps.log.warn('upload sweep failed', error),
      )
      .finally(() => (running = null));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
