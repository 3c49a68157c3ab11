import { expect } from 'chai';
import { RegistoError } from '@registo/schemas';
import { createLogger } from '../../src/index.js';

describe('logs keep values out of errors', () => {
  it('an error is logged by kind, code and stack; a RegistoError keeps its message (codes and fields only)', () => {
    const lines: string[] = [];
    const logger = createLogger('info', 'log-test', { write: (line: string) => void lines.push(line) });
    // The shape of a node-postgres error for a bad parameter: the value is in the message and in `where`.
    const driverError = Object.assign(new Error('invalid input syntax for type integer: "Maria da Conceição"'), {
      code: '22P02',
      where: "unnamed portal parameter $1 = 'Maria da Conceição'",
      query: 'SELECT * FROM identity_registry WHERE uin = $1',
    });
    logger.error({ err: driverError }, 'role failed; restarting');
    logger.warn({ err: new RegistoError('PACKET_SCHEMA_INVALID', 'packet does not match the schema at: demographics.givenNames') }, 'refused');
    const [first, second] = lines.map((l) => JSON.parse(l) as { err: Record<string, unknown> });
    expect(first!.err).to.include({ type: 'Error', code: '22P02' });
    expect(first!.err.stack).to.be.an('array').that.is.not.empty;
    expect(lines[0]).to.not.include('Maria').and.not.include('SELECT').and.not.include('portal');
    expect(second!.err).to.include({ type: 'RegistoError', code: 'PACKET_SCHEMA_INVALID', message: 'packet does not match the schema at: demographics.givenNames' });
  });
});
