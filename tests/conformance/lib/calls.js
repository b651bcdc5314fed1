// Realistic call objects shaped like retell-sdk 4.20.0's PhoneCallResponse and WebCallResponse, made from a
// seeded random source so that a failure can be replayed with the same data.

/** A small deterministic random source (mulberry32). */
export function random(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A 32-character call id like Retell's. */
export function callId(rng) {
  let id = '';
  for (let i = 0; i < 32; i++) id += ID_ALPHABET[rng.int(0, ID_ALPHABET.length - 1)];
  return id;
}

export const SENTIMENTS = ['Negative', 'Positive', 'Neutral', 'Unknown'];
export const STATUSES = ['registered', 'ongoing', 'ended', 'error'];
export const DISCONNECTION_REASONS = [
  'user_hangup', 'agent_hangup', 'call_transfer', 'voicemail_reached', 'inactivity', 'machine_detected',
  'max_duration_reached', 'dial_no_answer', 'error_llm_websocket_open', 'error_unknown',
];
export const NUMBERS = ['+14155550100', '+14155550101', '+442071838750', '+33142685300', '+4930901820'];

const LINES = [
  ['agent', 'Hi, this is Ava from Northwind Dental. How can I help you today?'],
  ['user', 'Hi Ava, I need to move my cleaning appointment to next week.'],
  ['agent', 'Of course. Could you confirm your date of birth for me?'],
  ['user', 'It is March 3rd, 1988. Grüße from Zoë 👋'],
  ['agent', 'Thank you. I have Tuesday at 10 or Thursday at 2. Which works better?'],
  ['user', 'Thursday at 2, please. 谢谢!'],
];

function words(content, startAt) {
  let t = startAt;
  return content.split(' ').map((word) => {
    const start = Math.round(t * 1000) / 1000;
    t += 0.18 + (word.length % 5) * 0.05;
    return { word, start, end: Math.round(t * 1000) / 1000 };
  });
}

function transcriptParts(rng) {
  const count = rng.int(2, LINES.length);
  const transcriptObject = [];
  let t = 0.4;
  for (const [role, content] of LINES.slice(0, count)) {
    const w = words(content, t);
    transcriptObject.push({ role, content, words: w });
    t = w[w.length - 1].end + 0.6;
  }
  const transcript = transcriptObject.map((u) => `${u.role === 'agent' ? 'Agent' : 'User'}: ${u.content}\n`).join('');
  const toolCallId = `tc_${callId(rng).slice(0, 12)}`;
  const transcriptWithToolCalls = [
    ...transcriptObject.slice(0, 2),
    { role: 'tool_call_invocation', tool_call_id: toolCallId, name: 'check_availability', arguments: '{"week":"next","slot":"afternoon"}' },
    { role: 'tool_call_result', tool_call_id: toolCallId, content: '{"slots":["Tue 10:00","Thu 14:00"]}' },
    { role: 'dtmf', digit: '1' },
    ...transcriptObject.slice(2),
  ];
  return { transcript, transcriptObject, transcriptWithToolCalls };
}

function metric(rng, low, high, withStatistics) {
  const values = Array.from({ length: rng.int(3, 9) }, () => Math.round((low + rng.next() * (high - low)) * 100) / 100);
  if (!withStatistics) return { values };
  const sorted = [...values].sort((x, y) => x - y);
  // Statistics as Retell sends them; deliberately not what CallVault would compute, to show they are kept.
  return {
    p50: sorted[Math.floor(sorted.length / 2)], p90: sorted[sorted.length - 1], p95: sorted[sorted.length - 1],
    p99: sorted[sorted.length - 1], max: sorted[sorted.length - 1], min: sorted[0], num: sorted.length, values,
  };
}

/**
 * One call. `over` replaces or (with undefined) removes fields. Options: type ('phone_call'|'web_call'),
 * agentId, status, startTimestamp.
 */
export function makeCall(rng, { type, agentId, status, startTimestamp, over = {} } = {}) {
  const callType = type ?? (rng.chance(0.7) ? 'phone_call' : 'web_call');
  const callStatus = status ?? rng.pick(['ended', 'ended', 'ended', 'ended', 'error', 'ongoing']);
  const start = startTimestamp ?? 1_730_000_000_000 + rng.int(0, 30 * 86_400) * 1000 + rng.int(0, 999);
  const call = {
    call_type: callType,
    call_id: callId(rng),
    agent_id: agentId ?? `agent_${callId(rng).slice(0, 24)}`,
    call_status: callStatus,
    metadata: { crm_id: `crm-${rng.int(1000, 9999)}`, tags: ['reschedule', 'dental'], nested: { score: rng.int(0, 100) / 10, note: 'café ☕' } },
    retell_llm_dynamic_variables: { customer_name: rng.pick(['John Doe', 'Zoë Müller', '王芳']), clinic: 'Northwind Dental' },
    opt_out_sensitive_data_storage: false,
    start_timestamp: start,
  };
  if (callType === 'phone_call') {
    call.direction = rng.pick(['inbound', 'outbound']);
    call.from_number = rng.pick(NUMBERS);
    call.to_number = rng.pick(NUMBERS);
    call.telephony_identifier = { twilio_call_sid: `CA${callId(rng)}` };
  } else {
    call.access_token = `eyJhbGciOiJIUzI1NiJ9.${callId(rng)}.${callId(rng).slice(0, 16)}`;
  }
  if (callStatus !== 'registered') {
    const { transcript, transcriptObject, transcriptWithToolCalls } = transcriptParts(rng);
    call.transcript = transcript;
    call.transcript_object = transcriptObject;
    call.transcript_with_tool_calls = transcriptWithToolCalls;
    const latencyKind = rng.pick(['statistics', 'statistics', 'values-only', 'none']);
    if (latencyKind !== 'none') {
      const full = latencyKind === 'statistics';
      call.latency = {
        e2e: metric(rng, 600, 2400, full),
        llm: metric(rng, 300, 1200, full),
        tts: metric(rng, 100, 400, full),
      };
    }
  }
  if (callStatus === 'ended' || callStatus === 'error') {
    const durationMs = rng.int(5_000, 600_000);
    call.end_timestamp = start + durationMs;
    call.disconnection_reason = rng.pick(DISCONNECTION_REASONS);
    call.recording_url = `https://dxc03zgurdly9.cloudfront.net/${call.call_id}/recording.wav`;
    call.public_log_url = `https://dxc03zgurdly9.cloudfront.net/${call.call_id}/public.log`;
    const seconds = Math.ceil(durationMs / 1000);
    call.call_cost = {
      product_costs: [
        { product: 'elevenlabs_tts', unitPrice: 0.0011666667, cost: Math.round(seconds * 0.11666667 * 100) / 100 },
        { product: 'gpt_4o_mini', unitPrice: 0.0001, cost: Math.round(seconds * 0.01 * 100) / 100 },
      ],
      total_duration_seconds: seconds,
      total_duration_unit_price: 0.0012666667,
      total_one_time_price: 0,
      combined_cost: Math.round(seconds * 0.12666667 * 100) / 100,
    };
    if (rng.chance(0.85)) {
      call.call_analysis = {
        call_summary: 'The caller moved a dental cleaning to Thursday at 2 pm.',
        in_voicemail: rng.chance(0.2),
        call_successful: rng.chance(0.6),
        custom_analysis_data: { appointment_moved: true, new_slot: 'Thu 14:00' },
      };
      // Some analyses carry no sentiment: such calls must never match a user_sentiment filter.
      if (rng.chance(0.85)) call.call_analysis.user_sentiment = rng.pick(SENTIMENTS);
    }
    // A field from a newer Retell version that this server does not know: it must come back verbatim.
    call.llm_token_usage = { values: [812, 1024, 933], average: 923, num_requests: 3 };
  }
  for (const [field, value] of Object.entries(over)) {
    if (value === undefined) delete call[field];
    else call[field] = value;
  }
  return call;
}

/** Many calls of a few agents, with start-time ties and every kind of missing value. */
export function makeCalls(rng, count, agents) {
  const calls = [];
  for (let i = 0; i < count; i++) {
    const agentId = agents[i % agents.length];
    // Every fifth call shares its start time with the one before it, to exercise the call_id tie-break.
    const tie = i % 5 === 4 ? calls[i - 1].start_timestamp : undefined;
    calls.push(makeCall(rng, { agentId, startTimestamp: tie }));
  }
  return calls;
}
