import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandTimeoutError, ConnectionLostError, SshExecutor } from '../../actions/engine/exec/ssh.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

describe('one SSH connection with long-lived remote shells', () => {
  let sb: Sandbox;
  let ssh: SshExecutor;
  beforeAll(async () => {
    sb = sandbox();
    ssh = await SshExecutor.connect({
      host: sb.sshHost,
      port: sb.sshPort,
      username: sb.sshUser,
      privateKey: sb.sshKey,
      hostKey: { kind: 'fingerprint', fingerprints: [sb.hostFingerprint] },
    });
  });
  afterAll(() => ssh.close());

  it('returns each command its own stdout, stderr and exit status, byte for byte', async () => {
    const noNewline = await ssh.run(['printf', '%s', 'no newline at the end'], { check: false });
    expect(noNewline).toEqual({ code: 0, stdout: 'no newline at the end', stderr: '' });
    const both = await ssh.run(['sh', '-c', 'printf "out\\n\\n"; printf "err" >&2; exit 7'], {
      check: false,
    });
    expect(both).toEqual({ code: 7, stdout: 'out\n\n', stderr: 'err' });
    const empty = await ssh.run(['true']);
    expect(empty).toEqual({ code: 0, stdout: '', stderr: '' });
    // `exit` and `cd` inside a command do not end or move the shell the next command runs in.
    await ssh.run(['sh', '-c', 'exit 3'], { check: false });
    expect((await ssh.run(['pwd'], { cwd: '/tmp' })).stdout).toBe('/tmp\n');
    expect((await ssh.run(['pwd'])).stdout).not.toBe('/tmp\n');
  });

  it('passes standard input through unchanged, quotes and all, and gives a command no stdin otherwise', async () => {
    const text = 'line 1\n\'quoted\' "double" $(not run) `nor this`\n\u00e9\u4e2d\nno final newline';
    expect((await ssh.run(['cat'], { stdin: text })).stdout).toBe(text);
    expect((await ssh.run(['cat'])).stdout).toBe('');
    const big = 'x'.repeat(300_000);
    expect((await ssh.run(['wc', '-c'], { stdin: big })).stdout.trim()).toBe('300000');
  });

  it('streams output while the command runs and keeps the marker out of it', async () => {
    const chunks: string[] = [];
    const result = await ssh.run(['sh', '-c', 'for i in 1 2 3; do echo "line $i"; done; printf tail'], {
      onStdout: (chunk) => chunks.push(chunk),
    });
    expect(chunks.join('')).toBe(result.stdout);
    expect(result.stdout).toBe('line 1\nline 2\nline 3\ntail');
  });

  it('passes a line on as soon as it is complete, while the command still runs', async () => {
    // The command only ends once the streamed line has arrived here: a held-back line would time out.
    const flag = `/tmp/deployer-stream-${process.pid}`;
    let release: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => (release = resolve));
    const running = ssh.run(
      [
        'sh',
        '-c',
        'echo "first line"; i=0; until [ -e "$1" ]; do i=$((i+1)); [ $i -lt 1000 ] || exit 9; sleep 0.01; done; rm -f "$1"',
        'sh',
        flag,
      ],
      { onStdout: (chunk) => chunk.includes('first line\n') && release() },
    );
    await seen;
    await ssh.run(['touch', flag]);
    expect((await running).code).toBe(0);
  });

  it('runs independent commands side by side on one connection', async () => {
    // Four commands that each wait for a file the last one creates: they only finish if they run at once.
    const flag = `/tmp/deployer-session-${process.pid}`;
    const waitFor = [
      'sh',
      '-c',
      'i=0; until [ -e "$1" ]; do i=$((i+1)); [ $i -lt 500 ] || exit 9; sleep 0.01; done',
      'sh',
      flag,
    ];
    const results = await Promise.all([
      ssh.run(waitFor, { check: false }),
      ssh.run(waitFor, { check: false }),
      ssh.run(waitFor, { check: false }),
      ssh.run(['touch', flag]),
    ]);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    await ssh.run(['rm', '-f', flag]);
  });

  it('ends a command at its deadline and keeps the connection usable', async () => {
    await expect(ssh.run(['sleep', '30'], { timeoutMs: 300 })).rejects.toBeInstanceOf(CommandTimeoutError);
    expect((await ssh.run(['echo', 'still here'])).stdout).toBe('still here\n');
  });

  describe('when the transport fails', () => {
    let proxy: FaultProxy;
    beforeAll(async () => (proxy = await FaultProxy.start(sb.sshHost, sb.sshPort)));
    afterAll(() => proxy.close());
    const viaProxy = (keepaliveMs?: number) =>
      SshExecutor.connect({
        host: proxy.host,
        port: proxy.port,
        username: sb.sshUser,
        privateKey: sb.sshKey,
        hostKey: { kind: 'fingerprint', fingerprints: [sb.hostFingerprint] },
        keepaliveMs,
      });

    it('fails a command in flight with ConnectionLostError when the connection drops, not with an exit code', async () => {
      const link = await viaProxy();
      const lost = new Promise<Error>((resolve) => link.onLost(resolve));
      const running = link.run(['sleep', '30']);
      await link.run(['true']);
      proxy.cut();
      await expect(running).rejects.toBeInstanceOf(ConnectionLostError);
      expect((await lost).message).toMatch(/lost the SSH connection to deployer@127\.0\.0\.1:\d+/);
      await expect(link.run(['true'])).rejects.toBeInstanceOf(ConnectionLostError);
      await link.close();
    });

    it('notices a frozen connection after three unanswered keepalives', async () => {
      const link = await viaProxy(300);
      const running = link.run(['sleep', '30']);
      await link.run(['true']);
      proxy.freeze();
      await expect(running).rejects.toThrow(/lost the SSH connection .*keepalive/i);
      proxy.thaw();
      await link.close();
    });
  });
});
