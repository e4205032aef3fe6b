import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const distIndex = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const plainLib = fileURLToPath(new URL('../native/build/libdbr-plain.so', import.meta.url));

function run(script: string, env: Record<string, string>) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, DBR_SERVER: '', ...env },
    timeout: 30_000,
  });
}

describe('DBR_LIBRARY', () => {
  it('loads another library with the Data Broker ABI (no dbrx extensions) and works through it', () => {
    const script = `
      import { Broker, dbr } from '${distIndex}';
      const broker = new Broker();
      const ns = await broker.create('foreign-${process.pid}');
      await ns.put('k', 'through the plain ABI');
      const read = (await ns.read('k')).toString();
      const got = (await ns.get('k', { timeout: 1000 })).toString();
      const late = ns.get('later', { timeout: 5000 });
      setTimeout(() => ns.put('later', 'woken'), 50);
      const woken = (await late).toString();
      const h = dbr.attach('foreign-${process.pid}');
      const status = dbr.put(h, 'x', 'y', null);
      console.log(JSON.stringify({ backend: broker.backend, path: broker.libraryPath, read, got, woken, status }));`;
    const out = run(script, { DBR_LIBRARY: plainLib });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({
      backend: 'foreign',
      path: plainLib,
      read: 'through the plain ABI',
      got: 'through the plain ABI',
      woken: 'woken',
      status: 0,
    });
  });

  it('names the problem and the fix when the library is missing', () => {
    const out = run(`import { Broker } from '${distIndex}'; try { new Broker(); } catch (e) { console.log(e.name + ': ' + e.message); }`, {
      DBR_LIBRARY: '/nonexistent/libdatabroker.so',
    });
    expect(out.stdout).toMatch(/LibraryLoadError: DBR_LIBRARY names \/nonexistent\/libdatabroker.so, which does not exist/);
  });

  it('the plain library exports only the v0.7 ABI', () => {
    const symbols = execFileSync('nm', ['-D', '--defined-only', plainLib], { encoding: 'utf8' });
    expect(symbols).toMatch(/ T dbrCreate$/m);
    expect(symbols).not.toMatch(/dbrx/);
  });
});
