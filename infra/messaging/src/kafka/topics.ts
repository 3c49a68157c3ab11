import { CATEGORIES, type Category } from '@registo/schemas';

/** Default first part of every topic name; REGISTO_TOPIC_PREFIX changes it (KafkaSettings.prefix). */
export const DEFAULT_PREFIX = 'registo';

/** One topic per stream category (DESIGN §3): `registo.<category>.v1`. */
export const categoryTopic = (category: Category, prefix = DEFAULT_PREFIX): string => `${prefix}.${category}.v1`;
export const categoryTopics = (prefix = DEFAULT_PREFIX): string[] => CATEGORIES.map((c) => categoryTopic(c, prefix));

/** The mirror's own checkpoint: compacted, written in the same transaction as the events. */
export const mirrorCheckpointTopic = (prefix = DEFAULT_PREFIX): string => `${prefix}.mirror.checkpoint`;

/** Where a consumer's poison messages go. */
export const dlqTopic = (consumer: string, prefix = DEFAULT_PREFIX): string => `${prefix}.${consumer}.dlq`;

/** Delayed retries of a consumer that calls the outside world, one topic per delay step. */
export const retryTopic = (consumer: string, step: number, prefix = DEFAULT_PREFIX): string => `${prefix}.${consumer}.retry.${step}`;

/** Consumer group of a consumer (its offsets that matter live with its effects; this is a hint). */
export const consumerGroup = (consumer: string, prefix = DEFAULT_PREFIX): string => `${prefix}-${consumer}`;

/**
 * Largest record batch a topic accepts. The broker's default (1 MB) is below what one event
 * may be (1 MiB canonical JSON); batches of many events per partition need more still.
 */
export const TOPIC_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const topicConfig = (extra: Array<{ name: string; value: string }> = []): Array<{ name: string; value: string }> => [
  { name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) },
  ...extra,
];
