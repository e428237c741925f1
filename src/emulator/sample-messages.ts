import type { PendingMessage, PendingMessageBody, RequestInfo, StreamUser } from '../event/message-schema.js';

/**
 * Realistic Stream message objects for tests, benchmarks and the emulator: snake_case, users
 * with custom fields, attachments, mentions, replies, custom top-level fields, `null`s where Go
 * writes them, and text in many scripts. The same seed always gives the same message.
 */

/** A seed: a number, or any string (hashed). */
export type Seed = number | string;

/** Options of {@link samplePayload}. */
export interface SamplePayloadOptions {
  /** `pending_message_metadata` as the sender set it. Default: a small deterministic map. */
  metadata?: Record<string, string>;
  /** Overrides of `request_info`. */
  requestInfo?: Partial<RequestInfo>;
  /** Seed of the generated parts. Default: derived from the message id. */
  seed?: Seed;
}

let unseeded = 0;

/**
 * A realistic pending message. `overrides` are applied last (shallowly), so
 * `sampleMessage({ id: 'm1', text: 'hi' })` keeps everything else generated.
 *
 * @param seed the same seed gives the same message; without one each call differs.
 */
export function sampleMessage(overrides: Partial<PendingMessage> = {}, seed?: Seed): PendingMessage {
  const rand = createRandom(seed ?? `unseeded-${process.pid}-${Date.now()}-${unseeded++}`);
  const id = uuid(rand);
  const channelType = pick(rand, ['messaging', 'livestream', 'team', 'commerce']);
  const channelId = `${pick(rand, ['general', 'support', 'random', 'sales', 'ops'])}-${hex(rand, 6)}`;
  const author = sampleUser(rand);
  const isReply = rand() < 0.3;
  const created = new Date(Date.UTC(2025, 0, 1) + Math.floor(rand() * 300 * 86_400_000));
  const createdAt = created.toISOString();
  const text = pick(rand, texts);
  const mentioned = rand() < 0.35 ? Array.from({ length: 1 + Math.floor(rand() * 3) }, () => sampleUser(rand)) : [];
  const withMentions = mentioned.length > 0 ? `${mentioned.map((u) => `@${u.name ?? u.id}`).join(' ')} ${text}` : text;
  const attachments = rand() < 0.45 ? Array.from({ length: 1 + Math.floor(rand() * 2) }, () => sampleAttachment(rand)) : [];

  const message: PendingMessage = {
    id,
    text: withMentions,
    html: messageHtml(withMentions),
    type: isReply ? 'reply' : 'regular',
    cid: `${channelType}:${channelId}`,
    parent_id: isReply ? uuid(rand) : null,
    show_in_channel: isReply ? rand() < 0.5 : null,
    user: author,
    attachments,
    mentioned_users: mentioned,
    created_at: createdAt,
    updated_at: createdAt,
    silent: rand() < 0.05,
    quoted_message_id: rand() < 0.15 ? uuid(rand) : null,
    // Fields Stream always sends; the handler sees them as custom fields.
    latest_reactions: [],
    own_reactions: [],
    reaction_counts: {},
    reaction_scores: {},
    reaction_groups: null,
    reply_count: 0,
    deleted_reply_count: 0,
    shadowed: false,
    pinned: false,
    pinned_at: null,
    pinned_by: null,
    pin_expires: null,
    restricted_visibility: [],
    ...sampleCustomFields(rand),
    ...overrides,
  };
  return message;
}

/**
 * The REST callback body Stream posts to `PassOnPendingMessage` / `DeletedPendingMessage`:
 * `{message, metadata, request_info}`.
 */
export function samplePayload(message: PendingMessage, options: SamplePayloadOptions = {}): PendingMessageBody {
  const rand = createRandom(options.seed ?? `payload-${message.id}`);
  const metadata = options.metadata ?? {
    source: pick(rand, ['mobile', 'web', 'import']),
    moderation_queue: pick(rand, ['default', 'priority']),
    trace_id: hex(rand, 16),
  };
  const request_info: RequestInfo = {
    type: 'client',
    ip: `${10 + Math.floor(rand() * 200)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 254)}`,
    user_agent: pick(rand, [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36',
      'okhttp/4.12.0',
    ]),
    sdk: pick(rand, ['stream-chat-js-v9.5.0', 'stream-chat-android-6.4.0', 'stream-chat-swift-4.60.0']),
    ext: '',
    ...options.requestInfo,
  };
  return { message, metadata, request_info };
}

/** `count` messages from one seed (message i uses seed `${seed}:${i}`). */
export function sampleMessages(count: number, seed: Seed = 1): PendingMessage[] {
  return Array.from({ length: count }, (_, i) => sampleMessage({}, `${seed}:${i}`));
}

const texts = [
  'Hello everyone, the release notes are up 🚀',
  'Can someone review my PR before lunch?',
  'Ça marche très bien, merci beaucoup !',
  'Привет! Как дела с деплоем?',
  'これは保留中のメッセージです。確認してください。',
  'مرحبا، هل يمكنك مساعدتي في هذا الطلب؟',
  'שלום! ההזמנה שלך נשלחה',
  '👍🏽👨‍👩‍👧‍👦🏳️‍🌈 family & flags test',
  'Check out https://getstream.io/chat/docs/ for more',
  'Buy cheap watches at http://spam.example.com NOW!!!',
  'line one\nline two\n\ttabbed "quoted" \\ backslash',
  'Zalgo: Z̷̢̛a̸l̶g̵o̴ ̶t̷e̵x̶t̴',
  'मेरा नाम राहुल है और मैं दिल्ली से हूँ',
  '数学: ∑ᵢ xᵢ² ≤ ∞, and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 letters',
  '<script>alert("xss")</script> should stay text',
  '',
];

const firstNames = ['Ada', 'Grace', 'Linus', 'Zoë', 'Björn', 'Ngozi', 'Hiro', 'Olúwadé', 'Sofía', 'Øyvind', '王芳', 'Dmitri'];

function sampleUser(rand: Random): StreamUser {
  const name = pick(rand, firstNames);
  const id = `${name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]/g, '') || 'user'}-${hex(rand, 4)}`;
  const user: StreamUser = {
    id,
    name,
    role: pick(rand, ['user', 'user', 'user', 'moderator', 'admin', 'guest']),
    image: rand() < 0.6 ? `https://cdn.example.com/avatars/${id}.png` : null,
    created_at: '2024-03-05T10:11:12.123456Z',
    updated_at: '2025-01-02T03:04:05.000001Z',
    banned: false,
    online: rand() < 0.5,
    teams: rand() < 0.3 ? ['red', 'blue'] : [],
  };
  // Custom user fields, flattened like Stream does.
  if (rand() < 0.7) user.country = pick(rand, ['NL', 'US', 'JP', 'BR', 'NG', 'IN']);
  if (rand() < 0.5) user.plan = pick(rand, ['free', 'pro', 'enterprise']);
  if (rand() < 0.4) user.karma = Math.floor(rand() * 10_000);
  if (rand() < 0.3) user.profile = { bio: 'Loves 🧗 and ☕', links: ['https://example.org'], verified: rand() < 0.5 };
  return user;
}

function sampleAttachment(rand: Random): Record<string, unknown> {
  const kind = pick(rand, ['image', 'og', 'file', 'video', 'giphy']);
  switch (kind) {
    case 'image':
      return {
        type: 'image',
        image_url: `https://cdn.example.com/images/${hex(rand, 10)}.jpg`,
        thumb_url: `https://cdn.example.com/thumbs/${hex(rand, 10)}.jpg`,
        fallback: 'photo.jpg',
        original_width: 1920,
        original_height: 1080,
      };
    case 'og':
      return {
        type: 'article',
        title: 'Pending messages — Stream Chat docs',
        title_link: 'https://getstream.io/chat/docs/javascript/pending_messages/',
        text: 'Introduce asynchronous moderation on messages being sent on a channel.',
        og_scrape_url: 'https://getstream.io/chat/docs/javascript/pending_messages/',
        image_url: 'https://getstream.io/og/pending.png',
        author_name: 'getstream.io',
      };
    case 'file':
      return {
        type: 'file',
        title: 'invoice-2025-03.pdf',
        asset_url: `https://cdn.example.com/files/${hex(rand, 12)}.pdf`,
        mime_type: 'application/pdf',
        file_size: 48_213,
      };
    case 'video':
      return {
        type: 'video',
        asset_url: `https://cdn.example.com/videos/${hex(rand, 8)}.mp4`,
        thumb_url: `https://cdn.example.com/videos/${hex(rand, 8)}.jpg`,
        mime_type: 'video/mp4',
        duration: 12.5,
      };
    default:
      return {
        type: 'giphy',
        title: 'party',
        title_link: 'https://giphy.com/gifs/party',
        thumb_url: 'https://media.giphy.com/media/party/giphy.gif',
        image_url: 'https://media.giphy.com/media/party/giphy.gif',
        giphy: { fixed_height: { url: 'https://media.giphy.com/media/party/200.gif', width: '356', height: '200' } },
      };
  }
}

function sampleCustomFields(rand: Random): Record<string, unknown> {
  const custom: Record<string, unknown> = {};
  if (rand() < 0.4) custom.priority = pick(rand, ['low', 'normal', 'high']);
  if (rand() < 0.3) custom.campaign_id = `cmp_${hex(rand, 8)}`;
  if (rand() < 0.3) custom.custom_score = Math.round(rand() * 1000) / 1000;
  if (rand() < 0.2) custom.extra = { nested: { deeper: [1, 'two', { three: true }] }, empty: {} };
  if (rand() < 0.15) custom.translations = { fr: 'Bonjour', ja: 'こんにちは' };
  return custom;
}

/** A small deterministic PRNG (mulberry32), seeded from a number or a string. */
type Random = () => number;

/** A deterministic random source in [0, 1) for a seed (the one the samples use). */
export function seededRandom(seed: Seed): () => number {
  return createRandom(seed);
}

function createRandom(seed: Seed): Random {
  let state = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function hashString(text: string): number {
  // FNV-1a, 32 bits.
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function pick<T>(rand: Random, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function hex(rand: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += Math.floor(rand() * 16).toString(16);
  return out;
}

function uuid(rand: Random): string {
  const h = hex(rand, 32);
  const variant = ((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A message's `html` as Stream renders its text: one paragraph, escaped, line breaks as `<br/>`. */
export function messageHtml(text: string): string {
  return `<p>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\n/g, '<br/>')}</p>\n`;
}
