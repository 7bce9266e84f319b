import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import type { Resolvers } from '../generated/graphql';
import { accountResolvers } from './accounts';
import { blockingResolvers } from './blocking';
import { conversationEventResolvers } from './conversationEvents';
import { conversationResolvers } from './conversations';
import { discoveryResolvers } from './discovery';
import { mediaResolvers } from './media';
import { messageResolvers } from './messages';
import { moderationResolvers } from './moderation';
import { presenceResolvers } from './presence';
import { encryptionResolvers } from './encryption';
import { groupResolvers } from './groups';
import { notificationResolvers } from './notifications';
import { pushResolvers } from './push';
import { sessionResolvers } from './sessions';
import { userResolvers } from './users';

function parseDate(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
  return date;
}

/** ISO-8601 instants in UTC. */
export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (value) => {
    if (!(value instanceof Date)) throw new TypeError('DateTime must be a Date');
    return value.toISOString();
  },
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : null),
});

/** Every domain's resolvers, merged by root type. */
export const resolvers: Resolvers[] = [
  { DateTime },
  userResolvers,
  sessionResolvers,
  conversationResolvers,
  messageResolvers,
  presenceResolvers,
  pushResolvers,
  discoveryResolvers,
  conversationEventResolvers,
  blockingResolvers,
  notificationResolvers,
  groupResolvers,
  moderationResolvers,
  accountResolvers,
  mediaResolvers,
  encryptionResolvers,
];
