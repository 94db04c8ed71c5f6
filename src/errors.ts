// Every coded error the exporter reports to a person, with its message and exit code or HTTP status.

/** A setting failed validation: the start stops, naming the flag and its environment variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'KMS_EXPORTER_BAD_CONFIG';
  readonly exitCode = 2;
  readonly flag: string;
  readonly env: string;

  constructor(flag: string, env: string, reason: string) {
    super(flag === env ? `invalid ${env}: ${reason}` : `invalid ${flag} (${env}): ${reason}`);
    this.flag = flag;
    this.env = env;
  }
}

/** An input named on the command line could not be read to its end. */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly code = 'KMS_EXPORTER_BAD_INPUT';
  readonly exitCode = 1;
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.path = path;
  }
}
