/**
 * Follow state: where a follower stands in a log file, remembered across restarts.
 *
 * One small JSON file per followed path, `<stateDir>/<hash of the absolute path>.json`, holding the file's identity
 * (device and inode, as decimal strings: inodes can exceed 2^53) and the offset up to which every line has been
 * acknowledged by the server. It is replaced atomically (write a temporary file, fsync, rename), so a crash leaves
 * the old state or the new one, never half of one. Because the offset only moves after an acknowledgement, a
 * restart re-sends at most the last unacknowledged batch, which the server then skips by event id.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Device and inode of a file: what stays the same across a rename and changes when a new file takes the path. */
export interface FileIdentity {
  readonly dev: string;
  readonly ino: string;
}

export interface FollowState extends FileIdentity {
  /** The followed path (absolute), for a person reading the state directory. */
  readonly path: string;
  /** Bytes of the file acknowledged by the server: reading resumes here. */
  readonly offset: number;
  /** Lines before `offset`, so line numbers in messages stay true after a restart. */
  readonly line: number;
  /** SHA-256 (hex, 16 characters) of up to 64 bytes before `offset`: tells a truncated-and-regrown file apart. */
  readonly tail: string;
}

export class FollowStateStore {
  constructor(readonly dir: string) {}

  /** The state file of a path: a hash, so any path gives a safe file name. */
  fileFor(path: string): string {
    return join(this.dir, `${createHash('sha256').update(path).digest('hex').slice(0, 32)}.json`);
  }

  /** The remembered state of `path`, or undefined when there is none or it cannot be read as a state. */
  async load(path: string): Promise<FollowState | undefined> {
    let text: string;
    try {
      text = await readFile(this.fileFor(path), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const raw = JSON.parse(text) as Record<string, unknown>;
      const { dev, ino, offset, line, tail } = raw;
      if (
        raw.path !== path ||
        typeof dev !== 'string' ||
        typeof ino !== 'string' ||
        typeof tail !== 'string' ||
        !Number.isSafeInteger(offset) ||
        (offset as number) < 0 ||
        !Number.isSafeInteger(line) ||
        (line as number) < 0
      ) {
        return undefined;
      }
      return { path, dev, ino, offset: offset as number, line: line as number, tail };
    } catch {
      return undefined;
    }
  }

  /** Replace the state of `state.path` atomically. */
  async save(state: FollowState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileFor(state.path);
    const temp = `${file}.${process.pid}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify({ ...state, updatedAt: new Date().toISOString() })}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, file);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
  }
}
