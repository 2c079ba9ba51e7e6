// Starts the sandbox binary on free loopback ports for the vendor-client tests and reads its
// vendor credentials. Build it first: cargo build -p spotdraft-sandbox.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function startSandbox(extra = []) {
  const dir = mkdtempSync(path.join(tmpdir(), 'crm-clients-'));
  const child = spawn(path.join(root, 'target/debug/sandbox'),
    ['--spotdraft-port', '0', '--crm-port', '0', '--state-file', path.join(dir, 'state.json'), ...extra],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const crm = await new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const match = buffered.match(/SANDBOX_READY spotdraft=\S+ crm=(\S+)/);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  child.stdout.resume();
  const vendors = await (await fetch(`${crm}/__sandbox/crm/vendors`)).json();
  const control = (method, route, body) => fetch(`${crm}${route}`, {
    method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  });
  return { crm, vendors, control, stop: () => child.kill('SIGTERM') };
}
