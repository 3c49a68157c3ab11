import { Kafka, logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../telemetry/logger.js';
import type { KafkaSettings } from './settings.js';

/**
 * kafkajs logs its own retries (a coordinator still loading, a rebalance) as errors on the
 * console; route them into the structured log instead, as warnings: the client retries them.
 */
function creator(logger: Logger | undefined): logCreator {
  return () => ({ level, log }) => {
    if (!logger) return;
    const { message, ...extra } = log;
    if (level <= logLevel.WARN) logger.warn({ kafka: extra }, `kafkajs: ${message}`);
    else logger.debug({ kafka: extra }, `kafkajs: ${message}`);
  };
}

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
