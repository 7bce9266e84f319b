import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildClientSchema, buildSchema, findBreakingChanges, getIntrospectionQuery } from 'graphql';
import { gqlOk } from '../helpers/client';
import { useTestServer } from '../helpers/server';

const root = join(__dirname, '..', '..');
const contractPath = join(root, '..', 'shared', 'contract', 'schema.graphql');
const hasContract = existsSync(contractPath);
if (!hasContract) {
  // eslint-disable-next-line no-console
  console.warn(
    `SKIPPED: the contract check needs ${contractPath} (../shared beside the project), which is absent here.`,
  );
}

const server = useTestServer();

const contracts = [
  { name: 'schema.graphql', path: contractPath, flags: [] as string[] },
  { name: 'upcoming.graphql', path: join(root, '..', 'shared', 'contract', 'upcoming.graphql'), flags: ['--upcoming'] },
];

describe.each(contracts)('the contract ../shared/contract/$name', ({ path, flags }) => {
  (hasContract ? it : it.skip)('is served with no breaking change', async () => {
    const contract = buildSchema(readFileSync(path, 'utf8'));
    const served = buildClientSchema((await gqlOk(server.url, getIntrospectionQuery())) as never);
    expect(findBreakingChanges(contract, served).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });

  (hasContract ? it : it.skip)("passes the contract's own check script against the running server", async () => {
    // Asynchronously: the server answering the script runs in this process.
    const script = join(root, '..', 'shared', 'contract', 'check-schema.mjs');
    const { stdout } = await promisify(execFile)('node', [script, ...flags, server.url], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(stdout).toContain('contract: ok');
  });
});

it('has committed generated types and root schema.graphql that match `npm run codegen`', () => {
  // --check exits non-zero when generating would change a file.
  execFileSync(join(root, 'node_modules', '.bin', 'graphql-codegen'), ['--config', 'codegen.yml', '--check'], {
    cwd: root,
    stdio: 'pipe',
  });
});
