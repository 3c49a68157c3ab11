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
