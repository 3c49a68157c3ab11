import { Kafka, Partitioners, logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '@registo/base';
import type { KafkaSettings } from './settings.js';

/**
 * kafkajs logs every error response it is about to retry (metadata of a topic created a moment
 * ago, a coordinator still loading) and its own advice (partitioners, bounded retries): a healthy
 * start would print a page of them. Those go to debug; what the client gives up on reaches our
 * code as an error and is logged there once. Its other errors (a lost connection, a crashed
 * consumer it restarts) stay visible as warnings.
 */
function creator(logger: Logger | undefined): logCreator {
  return () => ({ level, log }) => {
    if (!logger) return;
    const { message, ...extra } = log;
    if (level === logLevel.ERROR && !message.startsWith('Response ')) logger.warn({ kafka: extra }, `kafkajs: ${message}`);
    else logger.debug({ kafka: extra }, `kafkajs: ${message}`);
  };
}

/**
 * Murmur2 over the key, as Java clients partition: one stream always lands on one partition,
 * and a partner producing with the same key lands beside it. Named, so kafkajs need not warn
 * that its default changed in 2.0.
 */
export const keyPartitioner = Partitioners.DefaultPartitioner;

/** A kafkajs client with the project's settings and logging. */
export function kafkaClient(settings: KafkaSettings, role: string, logger?: Logger): Kafka {
  return new Kafka({
    clientId: `${settings.clientId}-${role}`,
    brokers: settings.brokers,
    logLevel: logger ? logLevel.WARN : logLevel.NOTHING,
    logCreator: creator(logger),
    retry: { retries: 8, initialRetryTime: 200 },
  });
}
