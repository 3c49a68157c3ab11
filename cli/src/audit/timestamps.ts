import { type TimestampCheck, checkTimestampToken } from '@registo/audit';

/** RFC 3161 tokens must verify with the TSA certificate (issued by `caPem` when given). */
export async function timestampChecker(tsaPem: string, caPem?: string): Promise<TimestampCheck> {
  return (token, digest) => {
    checkTimestampToken(token, digest, tsaPem, caPem);
    return true;
  };
}
