import net from 'node:net';
import { z } from 'zod';
import { PriceTable } from '../../common/budgets.js';
import { StopPolicy } from '../../common/stop-policy.js';
import { TunnelProvider } from '../../common/tunnel.js';
import { defaultDataDir, defaultLogDir } from './paths.js';

type Env = Readonly<Record<string, string | undefined>>;

const list = (item: z.ZodType<string, string>) =>
  z
    .string()
    .transform((raw) => raw.split(',').map((part) => part.trim()).filter((part) => part.length > 0))
    .pipe(z.array(item));

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const origin: z.ZodType<string, string> = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}, 'each entry must be an origin such as https://example.com (scheme, host and optional port; no path)');

/** A JSON document in one variable, validated by `schema`. */
const json = <T>(schema: z.ZodType<T>) =>
  z
    .string()
    .transform((raw, context) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'must be valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** An http(s) URL without credentials (a relay or tunnel address). */
const httpUrl: z.ZodType<string, string> = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}, 'must be an http(s) URL without credentials');

/** `true` or `false`, as an environment variable or a stored setting holds it. */
const boolean = z.enum(['true', 'false'], 'expected true or false').transform((value) => value === 'true');

const domainName = z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i, 'must be a domain name');

const hostAndPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port')
  .refine((value) => {
    const port = Number(value.slice(value.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'the port must be from 1 to 65535');

// A blank value (a stray space in a unit or .env file) would be a folder named " " in whatever directory the process starts in.
const folder = z.string().refine((value) => value.trim() !== '', 'must be a folder path, not blank');

const absolutePath = z.string().refine((value) => /^(\/|[A-Za-z]:[\\/])/.test(value), 'must be an absolute path').optional();

const hostname: z.ZodType<string, string> = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)$/, 'each entry must be a host name or IP address, without a port');

/**
 * Every setting, with the environment variable that overrides it. `stored`
 * settings may also come from the database's settings table; the others are
 * needed before the database is open. `.env.example` documents each one (a
 * test keeps the two in step).
 */
export const settingDefinitions = {
  dataDir: { env: 'AGENTED_DATA_DIR', stored: false, schema: folder },
  logDir: { env: 'AGENTED_LOG_DIR', stored: false, schema: folder },
  host: {
    env: 'AGENTED_HOST',
    stored: false,
    schema: z.string().refine((h) => net.isIP(h) !== 0 || /^[a-zA-Z0-9.-]+$/.test(h), 'expected an IP address or host name'),
  },
  port: { env: 'AGENTED_PORT', stored: false, schema: integer(0, 65535) },
  apiKey: {
    env: 'AGENTED_API_KEY',
    stored: false,
    schema: z.string().min(24, 'must be at least 24 characters').max(512).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  },
  corsOrigins: { env: 'AGENTED_CORS_ORIGINS', stored: true, schema: list(origin) },
  allowedHosts: { env: 'AGENTED_ALLOWED_HOSTS', stored: true, schema: list(hostname) },
  logLevel: { env: 'AGENTED_LOG_LEVEL', stored: true, schema: z.enum(['debug', 'info', 'warn', 'error']) },
  dedupTtlSeconds: { env: 'AGENTED_DEDUP_TTL_S', stored: true, schema: integer(1, 30 * 24 * 3600) },
  maxConcurrent: { env: 'AGENTED_MAX_CONCURRENT', stored: true, schema: integer(1, 64) },
  rateLimitBackoffSeconds: { env: 'AGENTED_RATE_LIMIT_BACKOFF_S', stored: true, schema: integer(1, 24 * 3600) },
  prices: { env: 'AGENTED_PRICES', stored: true, schema: json(PriceTable) },
  stopGraceMs: { env: 'AGENTED_STOP_GRACE_MS', stored: true, schema: integer(50, 600_000) },
  // Read when a stop begins (main/executions/stop-policy.ts), so a stored change applies without a restart.
  stopPolicy: { env: 'AGENTED_STOP_POLICY', stored: true, schema: StopPolicy },
  stopFinishTimeoutSeconds: { env: 'AGENTED_STOP_FINISH_TIMEOUT_S', stored: true, schema: integer(1, 24 * 3600) },
  sseHeartbeatMs: { env: 'AGENTED_SSE_HEARTBEAT_MS', stored: true, schema: integer(100, 300_000) },
  versionTimeoutMs: { env: 'AGENTED_VERSION_TIMEOUT_MS', stored: true, schema: integer(100, 600_000) },
  backendsMaxAgeMs: { env: 'AGENTED_BACKENDS_MAX_AGE_MS', stored: true, schema: integer(0, 24 * 3_600_000) },
  loginTokenTtlSeconds: { env: 'AGENTED_LOGIN_TOKEN_TTL_S', stored: true, schema: integer(10, 3600) },
  sessionTtlSeconds: { env: 'AGENTED_SESSION_TTL_S', stored: true, schema: integer(60, 90 * 24 * 3600) },
  maxBodyBytes: { env: 'AGENTED_MAX_BODY_BYTES', stored: true, schema: integer(1024, 64 * 1024 * 1024) },
  maxHookBodyBytes: { env: 'AGENTED_MAX_HOOK_BODY_BYTES', stored: true, schema: integer(1024, 64 * 1024 * 1024) },
  providerDedupTtlSeconds: { env: 'AGENTED_PROVIDER_DEDUP_TTL_S', stored: true, schema: integer(60, 30 * 24 * 3600) },
  deliveriesKept: { env: 'AGENTED_DELIVERIES_KEPT', stored: true, schema: integer(1, 10_000) },
  promptValueMaxLength: { env: 'AGENTED_PROMPT_VALUE_MAX', stored: true, schema: integer(100, 1_000_000) },
  claudePath: { env: 'AGENTED_CLAUDE_PATH', stored: true, schema: absolutePath },
  codexPath: { env: 'AGENTED_CODEX_PATH', stored: true, schema: absolutePath },
  geminiPath: { env: 'AGENTED_GEMINI_PATH', stored: true, schema: absolutePath },
  opencodePath: { env: 'AGENTED_OPENCODE_PATH', stored: true, schema: absolutePath },
  // The tunnel's settings (docs/tunnels.md): stored by PUT /api/tunnel, which applies them at once.
  tunnel: { env: 'AGENTED_TUNNEL', stored: true, schema: TunnelProvider },
  smeeUrl: { env: 'AGENTED_SMEE_URL', stored: true, schema: httpUrl.optional() },
  smeeServer: { env: 'AGENTED_SMEE_SERVER', stored: true, schema: httpUrl },
  tunnelPublicUrl: { env: 'AGENTED_TUNNEL_PUBLIC_URL', stored: true, schema: httpUrl.optional() },
  ngrokDomain: { env: 'AGENTED_NGROK_DOMAIN', stored: true, schema: domainName.optional() },
  ngrokServerAddr: { env: 'AGENTED_NGROK_SERVER_ADDR', stored: false, schema: hostAndPort.optional() },
  // Applied by the desktop shell (main/shell/start-at-login.ts) as soon as it is stored; headless, it does nothing.
  startAtLogin: { env: 'AGENTED_START_AT_LOGIN', stored: true, schema: boolean },
} as const;

/** Settings with no default: unset unless given. */
const OPTIONAL_SETTINGS = new Set<SettingName>(['apiKey', 'claudePath', 'codexPath', 'geminiPath', 'opencodePath', 'smeeUrl', 'tunnelPublicUrl', 'ngrokDomain', 'ngrokServerAddr']);
type OptionalSetting = 'apiKey' | 'claudePath' | 'codexPath' | 'geminiPath' | 'opencodePath' | 'smeeUrl' | 'tunnelPublicUrl' | 'ngrokDomain' | 'ngrokServerAddr';

export type SettingName = keyof typeof settingDefinitions;

/** The resolved settings, typed by their schemas. `apiKey` is set only when AGENTED_API_KEY overrides the keychain. */
export type Config = { [K in Exclude<SettingName, 'apiKey'>]: z.output<(typeof settingDefinitions)[K]['schema']> } & { apiKey: string | undefined };

/** Per-backend executable paths from settings (see main/backends). */
export function backendPathOverrides(config: Config): Partial<Record<'claude' | 'codex' | 'gemini' | 'opencode', string>> {
  const entries = [['claude', config.claudePath], ['codex', config.codexPath], ['gemini', config.geminiPath], ['opencode', config.opencodePath]] as const;
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

function defaults(env: Env): Record<Exclude<SettingName, OptionalSetting>, string> {
  return {
    dataDir: defaultDataDir(env),
    logDir: defaultLogDir(env),
    host: '127.0.0.1',
    port: '8787',
    corsOrigins: '',
    allowedHosts: '',
    logLevel: 'info',
    dedupTtlSeconds: '60',
    maxConcurrent: '2',
    stopGraceMs: '5000',
    stopPolicy: 'finish',
    stopFinishTimeoutSeconds: '60',
    rateLimitBackoffSeconds: '60',
    prices: '{}',
    sseHeartbeatMs: '15000',
    versionTimeoutMs: '20000',
    backendsMaxAgeMs: '30000',
    loginTokenTtlSeconds: '300',
    sessionTtlSeconds: String(7 * 24 * 3600),
    maxBodyBytes: String(1024 * 1024),
    maxHookBodyBytes: String(25 * 1024 * 1024),
    providerDedupTtlSeconds: String(72 * 3600),
    deliveriesKept: '50',
    promptValueMaxLength: '2000',
    tunnel: 'off',
    smeeServer: 'https://smee.io',
    startAtLogin: 'false',
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
    readonly value: string | undefined,
  ) {
    super(`Invalid configuration: ${variable} ${reason}${value === undefined ? '' : ` (got ${JSON.stringify(truncate(value))})`}`);
    this.name = 'ConfigError';
  }
}

function truncate(value: string): string {
  return value.length > 60 ? `${value.slice(0, 60)}…` : value;
}

export interface ConfigSources {
  env: Env;
  /** Settings stored in the database, as strings; environment variables win over them. */
  stored?: Readonly<Partial<Record<SettingName, string>>>;
  /** Command-line flags; they win over both. */
  flags?: Readonly<Partial<Record<SettingName, string>>>;
}

/** Validates one raw (string) value of a setting; returns the parsed value or an error message. */
export function parseSetting(name: SettingName, raw: string): { ok: true; value: unknown } | { ok: false; message: string } {
  const parsed = (settingDefinitions[name].schema as z.ZodType<unknown>).safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: parsed.error.issues[0]?.message ?? 'is invalid' };
}

/** The source of each setting's value, for display. */
export function settingSource(name: SettingName, sources: ConfigSources): 'environment' | 'stored' | 'default' {
  const definition = settingDefinitions[name];
  if (sources.flags?.[name] !== undefined || nonEmpty(sources.env[definition.env]) !== undefined) return 'environment';
  if (definition.stored && sources.stored?.[name] !== undefined) return 'stored';
  return 'default';
}

/** Resolves flags > environment > stored settings > defaults, validating each. Throws ConfigError. */
export function resolveConfig({ env, stored = {}, flags = {} }: ConfigSources): Config {
  const fallback = defaults(env);
  const resolved: Record<string, unknown> = {};
  for (const [name, definition] of Object.entries(settingDefinitions) as [SettingName, (typeof settingDefinitions)[SettingName]][]) {
    const fromFlag = flags[name];
    const fromEnv = nonEmpty(env[definition.env]);
    const fromStore = definition.stored ? stored[name] : undefined;
    const raw = fromFlag ?? fromEnv ?? fromStore ?? (OPTIONAL_SETTINGS.has(name) ? undefined : fallback[name as Exclude<SettingName, OptionalSetting>]);
    if (raw === undefined) {
      resolved[name] = undefined;
      continue;
    }
    const parsed = (definition.schema as z.ZodType<unknown>).safeParse(raw);
    if (!parsed.success) {
      const source = fromFlag !== undefined ? `--${flagName(name)}` : fromEnv !== undefined ? definition.env : `${definition.env} (stored setting "${name}")`;
      const issue = parsed.error.issues[0];
      // The API key is a secret: never echo it back in an error.
      throw new ConfigError(source, issue?.message ?? 'is invalid', name === 'apiKey' ? undefined : raw);
    }
    resolved[name] = parsed.data;
  }
  return resolved as unknown as Config;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function flagName(name: SettingName): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
