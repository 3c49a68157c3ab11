import { expect } from 'chai';
import { DisposalStack } from '../../src/composition/disposal-stack.js';

describe('the disposal stack', () => {
  it('releases last acquired first, every release even after one fails, once', async () => {
    const stack = new DisposalStack();
    const released: string[] = [];
    stack.defer('store', () => released.push('store'));
    const keys = stack.use('keys', { name: 'keys' }, (k) => released.push(k.name));
    expect(keys.name).to.equal('keys');
    stack.defer('server', () => {
      released.push('server');
      throw new Error('close failed');
    });
    stack.defer('workers', async () => void released.push('workers'));
    const failures = await stack.dispose();
    expect(released).to.deep.equal(['workers', 'server', 'keys', 'store']);
    expect(failures.map((f) => [f.name, (f.error as Error).message])).to.deep.equal([['server', 'close failed']]);
    expect(await stack.dispose(), 'a second dispose reports the same and releases nothing again').to.have.length(1);
    expect(released).to.have.length(4);
  });

  it('refuses a resource acquired while it is being released', async () => {
    const stack = new DisposalStack();
    await stack.dispose();
    expect(() => stack.defer('late', () => undefined)).to.throw(/late acquired while the platform is being released/);
  });
});
