// The exporter-toolkit web configuration file (--web-config-file): TLS, HTTP headers and basic auth users, validated once at start.

import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions, SecureVersion } from 'node:tls';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

const FLAG = '--web-config-file';
const ENV = 'KMS_EXPORTER_WEB_CONFIG_FILE';

/** Go's crypto/tls ClientAuthType names, as exporter-toolkit accepts them ("RequireClientCert" is its old alias). */
export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'RequireClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = Exclude<(typeof CLIENT_AUTH_TYPES)[number], 'RequireClientCert'>;

const TLS_VERSIONS: Readonly<Record<string, SecureVersion>> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };
const VERSION_ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Go's names (tls.CipherSuites()) to OpenSSL's. The TLS 1.3 suites are listed by Go but, as in Go, not configurable. */
const CIPHER_SUITES: Readonly<Record<string, string | null>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
};

const CURVES: Readonly<Record<string, string>> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/** The response headers exporter-toolkit lets a file set, with the values it accepts (empty: any). */
const HEADERS: Readonly<Record<string, readonly string[]>> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

/** $2a$, $2b$ or $2y$, a two-digit cost, 22 characters of salt and 31 of hash. */
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

const oneOf = (names: readonly string[], what: string) =>
  z.string().refine((value) => names.includes(value), { error: (issue) => `unknown ${what} ${JSON.stringify(issue.input)}; expected one of ${names.join(', ')}` });

const tlsVersion = oneOf(Object.keys(TLS_VERSIONS), 'TLS version');

const fileSchema = z.strictObject({
  tls_server_config: z
    .strictObject({
      cert: z.string().optional(),
      key: z.string().optional(),
      client_ca: z.string().optional(),
      cert_file: z.string().optional(),
      key_file: z.string().optional(),
      client_auth_type: oneOf(CLIENT_AUTH_TYPES, 'client_auth_type').optional(),
      client_ca_file: z.string().optional(),
      min_version: tlsVersion.optional(),
      max_version: tlsVersion.optional(),
      cipher_suites: z.array(oneOf(Object.keys(CIPHER_SUITES), 'cipher suite')).nullish(),
      prefer_server_cipher_suites: z.boolean().optional(),
      curve_preferences: z.array(oneOf(Object.keys(CURVES), 'curve')).nullish(),
    })
    .nullish(),
  http_server_config: z
    .strictObject({
      http2: z.boolean().optional(),
      headers: z.record(z.string(), z.string()).nullish(),
    })
    .nullish(),
  basic_auth_users: z
    .record(
      z.string().min(1, 'a user name must not be empty'),
      z.string().regex(BCRYPT, 'expected a bcrypt hash such as $2y$10$... (htpasswd -nBC 10 "" | tr -d \':\\n\')'),
    )
    .nullish(),
  auth_excluded_paths: z.array(z.string().startsWith('/', 'expected a URL path starting with /')).nullish(),
});

/** Where the certificate, key and client CAs come from: a file (watched for rotation) or inline PEM. */
export type PemSource = { readonly file: string } | { readonly pem: string };

export interface TlsServerConfig {
  readonly cert: PemSource;
  readonly key: PemSource;
  readonly clientCa: PemSource | undefined;
  readonly clientAuthType: ClientAuthType;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** OpenSSL cipher list for TLS 1.2 and below; undefined: Node's defaults. */
  readonly ciphers: string | undefined;
  readonly honorCipherOrder: boolean;
  readonly ecdhCurve: string | undefined;
}

export interface WebConfig {
  readonly path: string;
  readonly tls: TlsServerConfig | undefined;
  readonly http2: boolean;
  readonly headers: Readonly<Record<string, string>>;
  /** user → bcrypt hash; empty: no basic auth. */
  readonly users: ReadonlyMap<string, string>;
  /** URL paths served without authentication (exact match, as exporter-toolkit), e.g. the probes' /-/healthy and /-/ready. */
  readonly authExcludedPaths: ReadonlySet<string>;
}

const fail = (path: string, where: string, reason: string): ConfigError => new ConfigError(FLAG, ENV, `${path}: ${where === '' ? '' : `${where}: `}${reason}`);

/** Reads and validates the file; a bad key, value or unreadable certificate stops the start naming the file and the key. */
export function loadWebConfig(path: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw fail(path, '', `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parse(text) ?? {};
  } catch (error) {
    throw fail(path, '', `not valid YAML: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  const result = fileSchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') throw fail(path, [where, issue.keys[0]].filter((part) => part !== '').join('.'), 'unknown key');
    throw fail(path, where, issue.message);
  }
  const file = result.data;
  const headers = file.http_server_config?.headers ?? {};
  for (const [name, value] of Object.entries(headers)) {
    const allowed = HEADERS[name];
    if (allowed === undefined) throw fail(path, `http_server_config.headers.${name}`, `this header can not be configured; expected one of ${Object.keys(HEADERS).join(', ')}`);
    if (allowed.length > 0 && !allowed.includes(value)) throw fail(path, `http_server_config.headers.${name}`, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  for (const [user, hash] of Object.entries(file.basic_auth_users ?? {})) {
    const cost = Number(BCRYPT.exec(hash)?.[1]);
    if (cost < 4 || cost > 31) throw fail(path, `basic_auth_users.${user}`, `bcrypt cost ${cost} is outside 4 to 31`);
  }
  const tls = tlsConfig(path, file.tls_server_config ?? undefined);
  const config: WebConfig = {
    path,
    tls,
    http2: file.http_server_config?.http2 ?? true,
    headers,
    users: new Map(Object.entries(file.basic_auth_users ?? {})),
    authExcludedPaths: new Set(file.auth_excluded_paths ?? []),
  };
  if (tls !== undefined) {
    try {
      createSecureContext(secureContextOptions(tls));
    } catch (error) {
      throw fail(path, 'tls_server_config', `cannot load the certificate, key or client CA: ${(error as Error).message}`);
    }
  }
  return Object.freeze(config);
}

type TlsSection = NonNullable<z.infer<typeof fileSchema>['tls_server_config']>;

function tlsConfig(path: string, section: TlsSection | undefined): TlsServerConfig | undefined {
  // As exporter-toolkit: any TLS field switches TLS on, and then a certificate and a key are required.
  if (section === undefined || Object.values(section).every((value) => value === undefined || value === null || value === '')) return undefined;
  const dir = dirname(resolve(path));
  const source = (fileKey: 'cert_file' | 'key_file' | 'client_ca_file', inlineKey: 'cert' | 'key' | 'client_ca'): PemSource | undefined => {
    const file = section[fileKey];
    const inline = section[inlineKey];
    if (file !== undefined && file !== '' && inline !== undefined && inline !== '') throw fail(path, `tls_server_config.${inlineKey}`, `give either ${inlineKey} or ${fileKey}, not both`);
    // Relative paths are relative to the file's directory, as exporter-toolkit's SetDirectory makes them.
    if (file !== undefined && file !== '') return { file: resolve(dir, file) };
    if (inline !== undefined && inline !== '') return { pem: inline };
    return undefined;
  };
  const cert = source('cert_file', 'cert');
  const key = source('key_file', 'key');
  const clientCa = source('client_ca_file', 'client_ca');
  if (cert === undefined) throw fail(path, 'tls_server_config.cert_file', 'missing one of cert or cert_file');
  if (key === undefined) throw fail(path, 'tls_server_config.key_file', 'missing one of key or key_file');
  const named = (section.client_auth_type ?? 'NoClientCert') as (typeof CLIENT_AUTH_TYPES)[number];
  const clientAuthType: ClientAuthType = named === 'RequireClientCert' ? 'RequireAnyClientCert' : named;
  if (clientCa !== undefined && clientAuthType === 'NoClientCert') throw fail(path, 'tls_server_config.client_auth_type', 'client CAs are configured without a client auth policy (client_auth_type)');
  const minVersion = TLS_VERSIONS[section.min_version ?? 'TLS12']!;
  const maxVersion = TLS_VERSIONS[section.max_version ?? 'TLS13']!;
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) throw fail(path, 'tls_server_config.min_version', `${section.min_version ?? 'TLS12'} is above max_version ${section.max_version ?? 'TLS13'}`);
  const ciphers = (section.cipher_suites ?? []).map((name) => CIPHER_SUITES[name]).filter((name): name is string => typeof name === 'string');
  const curves = (section.curve_preferences ?? []).map((name) => CURVES[name]!);
  return {
    cert,
    key,
    clientCa,
    clientAuthType,
    minVersion,
    maxVersion,
    ciphers: ciphers.length === 0 ? undefined : ciphers.join(':'),
    honorCipherOrder: section.prefer_server_cipher_suites ?? true,
    ecdhCurve: curves.length === 0 ? undefined : curves.join(':'),
  };
}

function pem(source: PemSource): string | Buffer {
  return 'file' in source ? readFileSync(source.file) : source.pem;
}

/** The secure context as of now, read from disk: at start, and again whenever a file changes. Throws when a file is unreadable or the pair does not match. */
export function secureContextOptions(tls: TlsServerConfig): SecureContextOptions {
  return {
    cert: pem(tls.cert),
    key: pem(tls.key),
    ...(tls.clientCa === undefined ? {} : { ca: pem(tls.clientCa) }),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
    honorCipherOrder: tls.honorCipherOrder,
    ...(tls.ecdhCurve === undefined ? {} : { ecdhCurve: tls.ecdhCurve }),
  };
}

/** The files the secure context is read from, watched for rotation. */
export function tlsFiles(tls: TlsServerConfig): string[] {
  return [tls.cert, tls.key, tls.clientCa].flatMap((source) => (source !== undefined && 'file' in source ? [source.file] : []));
}
