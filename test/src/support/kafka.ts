import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { type EventEnvelope, verifyEnvelope } from '@registo/schemas';
import { EnvelopeCodec, type KafkaSettings, categoryTopics, kafkaSettings } from '@registo/messaging';

/** Kafka settings with a prefix of its own, so that suites never read each other's topics. */
export function testKafkaSettings(label = 't'): KafkaSettings {
  return { ...kafkaSettings(process.env), prefix: `${label}${Date.now().toString(36)}${randomBytes(2).toString('hex')}`, partitions: 6 };
}

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  headers: Record<string, string>;
  event: EventEnvelope;
}

/**
 * Reads every category topic from the beginning with a fresh group, read_committed, until
 * `expected` messages arrived and nothing more comes for `quietMs`, or `timeoutMs` passes.
 */
export async function readTopics(settings: KafkaSettings, expected: number, opts: { timeoutMs?: number; quietMs?: number; topics?: string[] } = {}): Promise<ReadMessage[]> {
  const kafka = new Kafka({ clientId: 'registo-test-reader', brokers: settings.brokers, logLevel: logLevel.ERROR });
  const codec = new EnvelopeCodec(settings.registryUrl, settings.prefix);
  const consumer = kafka.consumer({ groupId: `reader-${randomBytes(6).toString('hex')}`, readUncommitted: false });
  const out: ReadMessage[] = [];
  let lastArrival = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topics: opts.topics ?? categoryTopics(settings.prefix), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const event = await codec.decode(message.value!);
      verifyEnvelope(event);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      out.push({ topic, partition, offset: Number(message.offset), key: message.key!.toString(), headers, event });
      lastArrival = Date.now();
    },
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (out.length >= expected && Date.now() - lastArrival >= (opts.quietMs ?? 1500)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await consumer.disconnect();
  return out;
}

/** Raw messages of one topic (for DLQ checks): value and headers as strings. */
export async function readRaw(settings: KafkaSettings, topic: string, expected: number, timeoutMs = 30_000): Promise<Array<{ key: string | null; value: Buffer | null; headers: Record<string, string> }>> {
  const kafka = new Kafka({ clientId: 'registo-test-raw', brokers: settings.brokers, logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: `raw-${randomBytes(6).toString('hex')}` });
  const out: Array<{ key: string | null; value: Buffer | null; headers: Record<string, string> }> = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      out.push({ key: message.key?.toString() ?? null, value: message.value, headers });
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && out.length < expected) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  return out;
}
