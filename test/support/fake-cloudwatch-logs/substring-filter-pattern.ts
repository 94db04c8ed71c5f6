// Fallback filter-pattern evaluator for when test/support/filter-pattern-matcher.ts is absent: terms and quoted phrases only.
import type { CompileFilterPattern } from './filter-log-events.ts';

/**
 * Every whitespace-separated term (or "quoted phrase") must occur in the message, which is
 * what CloudWatch Logs does for unstructured term patterns; JSON and space-delimited
 * patterns are not understood, which is why the real matcher is preferred when present.
 */
export const substringFilterPattern: CompileFilterPattern = (pattern) => {
  const terms = [...pattern.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  if (terms.length === 0) return () => true;
  return (message) => terms.every((term) => message.includes(term));
};
