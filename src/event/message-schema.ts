import { z } from 'zod';

/**
 * Zod schemas of the REST callback body: the one source of the message types the handler sees.
 * Objects are loose: Stream's custom fields (flattened at the top level of the message and the
 * user) and fields Stream adds later pass through untouched. Go encodes absent optional values as
 * `null`, so optional fields accept `null` too.
 */
export const streamUserSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  role: z.string().nullish(),
  image: z.string().nullish(),
});

export const attachmentSchema = z.looseObject({
  type: z.string().nullish(),
  title: z.string().nullish(),
  text: z.string().nullish(),
  image_url: z.string().nullish(),
  asset_url: z.string().nullish(),
  thumb_url: z.string().nullish(),
  og_scrape_url: z.string().nullish(),
});

export const pendingMessageSchema = z.looseObject({
  id: z.string().min(1),
  text: z.string().nullish(),
  html: z.string().nullish(),
  type: z.string().nullish(),
  cid: z.string().nullish(),
  parent_id: z.string().nullish(),
  show_in_channel: z.boolean().nullish(),
  user: streamUserSchema.nullish(),
  attachments: z.array(attachmentSchema).nullish(),
  mentioned_users: z.array(streamUserSchema).nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
  silent: z.boolean().nullish(),
  quoted_message_id: z.string().nullish(),
});

export const requestInfoSchema = z.looseObject({
  type: z.string().nullish(),
  ip: z.string().nullish(),
  user_agent: z.string().nullish(),
  sdk: z.string().nullish(),
  ext: z.string().nullish(),
});

export const pendingMessageBodySchema = z.looseObject({
  message: pendingMessageSchema,
  metadata: z.record(z.string(), z.string()).nullish(),
  request_info: requestInfoSchema.nullish(),
});

/** A Stream user as it appears in a message (custom fields kept). */
export type StreamUser = z.infer<typeof streamUserSchema>;
/** A message attachment (custom fields kept). */
export type Attachment = z.infer<typeof attachmentSchema>;
/** The pending message exactly as Stream sends it: snake_case, custom fields at the top level. */
export type PendingMessage = z.infer<typeof pendingMessageSchema>;
/** Where the message came from, as Stream reports it. */
export type RequestInfo = z.infer<typeof requestInfoSchema>;
/** The REST callback body. */
export type PendingMessageBody = z.infer<typeof pendingMessageBodySchema>;
