/** Error raised by the local-infra module; `logFile` points at the log worth reading, when there is one. */
export class InfraError extends Error {
  readonly logFile: string | undefined;

  constructor(message: string, options: { logFile?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InfraError';
    this.logFile = options.logFile;
  }
}
