// What the server should answer, computed from the seeded calls by the rules of issue 2 and retell-sdk 4.20.0,
// independently of the server's code.

export const SENSITIVE_FIELDS = ['transcript', 'transcript_object', 'transcript_with_tool_calls', 'recording_url', 'public_log_url'];

/** numpy's default percentile: linear interpolation between closest ranks of sorted samples. */
export function percentile(sorted, percent) {
  const rank = ((sorted.length - 1) * percent) / 100.0;
  const lower = Math.floor(rank);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (rank - lower) * (sorted[upper] - sorted[lower]);
}

/** A call as the server must store and return it: statistics added where only samples came, opt-out applied. */
export function stored(call) {
  const copy = structuredClone(call);
  for (const metric of Object.values(copy.latency ?? {})) {
    const hasStatistics = ['p50', 'p90', 'p95', 'p99', 'max', 'min', 'num'].some((s) => s in metric);
    if (!Array.isArray(metric.values) || hasStatistics) continue;
    const sorted = [...metric.values].sort((a, b) => a - b);
    if (sorted.length === 0) {
      metric.num = 0;
      continue;
    }
    Object.assign(metric, {
      p50: percentile(sorted, 50), p90: percentile(sorted, 90), p95: percentile(sorted, 95), p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1], min: sorted[0], num: sorted.length,
    });
  }
  if (copy.opt_out_sensitive_data_storage === true) for (const f of SENSITIVE_FIELDS) delete copy[f];
  return copy;
}

/** The value a filter field tests on a call, or undefined when the call lacks it. */
export function valueOf(call, field) {
  switch (field) {
    case 'user_sentiment':
    case 'call_successful':
    case 'in_voicemail':
      return call.call_analysis?.[field];
    case 'duration_ms':
      return call.start_timestamp !== undefined && call.end_timestamp !== undefined
        ? call.end_timestamp - call.start_timestamp
        : undefined;
    case 'e2e_latency_p50':
      return stored(call).latency?.e2e?.p50;
    default:
      return call[field];
  }
}

const THRESHOLD_FIELDS = new Set(['start_timestamp', 'duration_ms', 'e2e_latency_p50']);

/** Whether a call matches filter_criteria: fields AND, list values OR, empty list = no constraint. */
export function matches(call, filter = {}) {
  for (const [field, condition] of Object.entries(filter)) {
    const value = valueOf(call, field);
    if (THRESHOLD_FIELDS.has(field)) {
      const { lower_threshold: lower, upper_threshold: upper } = condition;
      if (lower === undefined && upper === undefined) continue;
      if (value === undefined) return false;
      if (lower !== undefined && value < lower) return false;
      if (upper !== undefined && value > upper) return false;
    } else {
      if (condition.length === 0) continue;
      if (value === undefined || !condition.includes(value)) return false;
    }
  }
  return true;
}

/** Compares call ids in byte order (ordinal), as the server must: not locale order. */
export function compareIds(a, b) {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

/** Orders calls by start_timestamp then call_id, ascending or descending (the default). */
export function sorted(calls, sortOrder = 'descending') {
  const sign = sortOrder === 'ascending' ? 1 : -1;
  return [...calls].sort((a, b) => sign * (a.start_timestamp - b.start_timestamp || compareIds(a.call_id, b.call_id)));
}

/** The ids list-calls must answer over the given calls, for a filter, order and limit (no pagination key). */
export function expectedIds(calls, { filter_criteria, sort_order, limit = 50 } = {}) {
  return sorted(calls.filter((c) => matches(c, filter_criteria)), sort_order).slice(0, limit).map((c) => c.call_id);
}

export const ids = (calls) => calls.map((c) => c.call_id);
