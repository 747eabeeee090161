import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../main/config/config.js';
import { stopBoundMs } from '../../main/executions/stop-policy.js';
import { DEFAULT_STOP_TIMEOUT_MS } from '../../main/supervisor/supervisor.js';
import { repoRoot } from '../helpers/serve.js';

/*
 * A service manager kills what is left once its own stop timeout is up. The
 * service files in deploy/ must wait longer than the supervisor would with
 * the default settings, or a stop that lets executions finish is cut short
 * and they end `interrupted` (docs/headless.md).
 */
const { stopPolicy, stopFinishTimeoutSeconds, stopGraceMs } = resolveConfig({ env: {} });
const supervisorDeadlineMs = stopBoundMs(stopPolicy, stopFinishTimeoutSeconds * 1000, stopGraceMs) + DEFAULT_STOP_TIMEOUT_MS;
const read = (file: string) => fs.readFileSync(path.join(repoRoot, 'deploy', file), 'utf8');

describe('stop timeouts of the service files', () => {
  it('systemd: only the supervisor gets SIGTERM, and TimeoutStopSec outlasts the default stop', () => {
    const unit = read('agented.service');
    expect(unit).toMatch(/^KillMode=mixed$/m);
    const seconds = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    expect(seconds * 1000).toBeGreaterThan(supervisorDeadlineMs);
  });

  it('launchd: ExitTimeOut outlasts the default stop', () => {
    const seconds = Number(/<key>ExitTimeOut<\/key>\s*<integer>(\d+)<\/integer>/.exec(read('com.agented.plist'))?.[1]);
    expect(seconds * 1000).toBeGreaterThan(supervisorDeadlineMs);
  });
});
