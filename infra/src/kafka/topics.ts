import { CATEGORIES, type Category } from '@registo/schemas';

/** One topic per stream category (DESIGN §3). */
export const categoryTopic = (category: Category): string => `registo.${category}.v1`;
export const CATEGORY_TOPICS: readonly string[] = CATEGORIES.map(categoryTopic);

export function categoryOfTopic(topic: string): Category {
  const m = /^registo\.([a-z]+)\.v1$/.exec(topic);
  const c = m?.[1];
  if (!c || !(CATEGORIES as readonly string[]).includes(c)) throw new Error(`${topic} is not a category topic`);
  return c as Category;
}

/** The mirror's own checkpoint: compacted, written in the same transaction as the events. */
export const MIRROR_CHECKPOINT_TOPIC = 'registo.mirror.checkpoint';

/** Where a consumer's poison messages go. */
export const dlqTopic = (consumer: string): string => `registo.${consumer}.dlq`;

/** Delayed retries of a consumer that calls the outside world, one topic per delay step. */
export const retryTopic = (consumer: string, step: number): string => `registo.${consumer}.retry.${step}`;
