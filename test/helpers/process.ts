import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The compiled entry point; `npm test` builds it before jest runs. */
export const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

/** A server running as its own process, as `npm start` runs it. */
export interface ServerProcess {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once it has exited. */
  exited: Promise<number | string>;
}

/** Starts dist/main.js with `env` on a free port and waits for its ready line (logged at info); kills it if that never comes. */
export async function startServerProcess(env: Record<string, string> = {}, timeoutMs = 15_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  // Should this test process exit without stopping it, take it along instead of leaving an orphan.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', orphanGuard);
      resolve(code ?? signal ?? -1);
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in ${timeoutMs}ms:\n${output}`));
    }, timeoutMs);
    const check = () => {
      const match = /ready: (http:\/\/\S+\/graphql)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${output}`));
    });
  });
  return { url, wsUrl: url.replace(/^http/, 'ws'), child, output: () => output, exited };
}
