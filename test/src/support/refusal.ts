import { expect } from 'chai';
import { RegistoError } from '@registo/schemas';

/** The RegistoError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function refusal(promise: Promise<unknown>): Promise<RegistoError> {
  try {
    await promise;
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(RegistoError);
    return error as RegistoError;
  }
  expect.fail('expected a refusal');
}
