import { connect } from 'node:net';

export interface KafkaMetadata {
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  controllerId: number;
}

const CLIENT_ID = 'registo-infra-probe';

/**
 * Sends one Kafka MetadataRequest (v1, no topics) and decodes the broker list. A KRaft broker only lists
 * itself once it is registered and unfenced, so a non-empty answer means "ready for clients".
 * Resolves undefined if nothing answers the Kafka protocol within the timeout.
 */
export function kafkaMetadata(host: string, port: number, timeoutMs = 2000): Promise<KafkaMetadata | undefined> {
  return new Promise((resolvePromise) => {
    const correlationId = Math.floor(Math.random() * 0x7fffffff);
    const clientId = Buffer.from(CLIENT_ID, 'utf8');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4);
    let o = 0;
    o = body.writeInt16BE(3, o); // api_key Metadata
    o = body.writeInt16BE(1, o); // api_version 1
    o = body.writeInt32BE(correlationId, o);
    o = body.writeInt16BE(clientId.length, o);
    o += clientId.copy(body, o);
    body.writeInt32BE(0, o); // topics: empty array => no topic metadata, just brokers
    const frame = Buffer.alloc(4 + body.length);
    frame.writeInt32BE(body.length, 0);
    body.copy(frame, 4);

    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (result: KafkaMetadata | undefined) => {
      if (settled) return;
      settled = true;
      socket.removeAllListeners();
      socket.destroy();
      resolvePromise(result);
    };
    socket.setTimeout(timeoutMs, () => finish(undefined));
    socket.once('error', () => finish(undefined));
    socket.once('close', () => finish(undefined));
    socket.once('connect', () => socket.write(frame));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (size < 0 || size > 10 * 1024 * 1024) return finish(undefined); // not Kafka
      if (received.length < 4 + size) return;
      try {
        finish(decode(received.subarray(4, 4 + size), correlationId));
      } catch {
        finish(undefined);
      }
    });
  });
}

function decode(buf: Buffer, correlationId: number): KafkaMetadata | undefined {
  let o = 0;
  if (buf.readInt32BE(o) !== correlationId) return undefined;
  o += 4;
  const brokerCount = buf.readInt32BE(o);
  o += 4;
  if (brokerCount < 0 || brokerCount > 10_000) return undefined;
  const brokers: KafkaMetadata['brokers'] = [];
  for (let i = 0; i < brokerCount; i++) {
    const nodeId = buf.readInt32BE(o);
    o += 4;
    const hostLen = buf.readInt16BE(o);
    o += 2;
    const host = buf.toString('utf8', o, o + hostLen);
    o += hostLen;
    const port = buf.readInt32BE(o);
    o += 4;
    const rackLen = buf.readInt16BE(o);
    o += 2 + Math.max(rackLen, 0);
    brokers.push({ nodeId, host, port });
  }
  const controllerId = buf.readInt32BE(o);
  return { brokers, controllerId };
}
