import { limits } from '../contract/limits';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { costWithin, estimate, type CostModel, type ResponseCost } from './queryLimits';

/** Code points take at most 4 bytes in UTF-8, and JSON may escape a few more. */
const textBytes = (codePoints: number) => 4 * codePoints + 16;

/** Base64 of n bytes, quoted. */
const base64Bytes = (n: number) => 4 * Math.ceil(n / 3) + 2;

/** How large this schema's answers can get: the bounds of the contract, field by field. */
export const costModel: CostModel = {
  listSizes: {
    members: limits.groupMax,
    presence: limits.idListMax,
    friends: 1000,
    blockedUsers: limits.blocksMax,
    reactions: limits.reactionsMax,
    readPositions: limits.groupMax,
    mentions: limits.groupMax,
    sessions: limits.sessionsMax,
    joined: limits.groupMax,
    left: limits.groupMax,
    attachments: limits.attachmentsMax,
    headers: 16,
    formFields: 32,
  },
  defaultListSize: limits.pageMax,
  leafBytes: {
    'Message.content': textBytes(limits.contentMax),
    'User.displayName': textBytes(limits.displayNameMax),
    'Conversation.title': textBytes(limits.groupTitleMax),
    // An emoji is at most 32 UTF-16 units (validate.ts).
    'Reaction.emoji': textBytes(32),
    'Attachment.fileName': textBytes(limits.fileNameMax),
    // Signed URLs: the key, the signature, and the response type and disposition (with the file name).
    'Attachment.url': 2048 + 2 * textBytes(limits.fileNameMax),
    'Attachment.thumbnailUrl': 2048 + 2 * textBytes(limits.fileNameMax),
    'Attachment.contentType': 16 + limits.contentTypeMax,
    'User.avatarUrl': 2048,
    'Upload.url': 4096,
    'HttpHeader.value': 1024,
    // Base64 of the largest MLS message, and of a Welcome (which shares that bound with its commit).
    'MlsPayload.message': base64Bytes(limits.mlsHandshakeBytesMax),
    'MlsPayload.welcome': base64Bytes(limits.mlsHandshakeBytesMax),
    'ClaimedKeyPackage.keyPackage': base64Bytes(limits.keyPackageBytesMax),
    'Conversation.mlsGroupId': base64Bytes(limits.mlsGroupIdBytesMax),
  },
  defaultLeafBytes: 48,
  defaultPageSizes: { messages: limits.messagesDefault },
};

/**
 * The cost check both transports run before an operation does any work: its
 * answer under this schema's cost model against `maxBytes` (MAX_QUERY_COST_BYTES).
 */
export function operationCost(
  request: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName: string | null | undefined;
    variables: Record<string, unknown> | null | undefined;
  },
  maxBytes: number,
): ResponseCost {
  const { schema, document, operationName, variables } = request;
  let byOperation = known.get(document);
  const remembered = byOperation?.get(operationName ?? '');
  if (remembered?.schema === schema) return costWithin(remembered.bytes, maxBytes);
  const { bytes, readsVariables } = estimate(schema, document, operationName, variables, costModel);
  if (!readsVariables) {
    if (!byOperation) known.set(document, (byOperation = new Map()));
    byOperation.set(operationName ?? '', { schema, bytes });
  }
  return costWithin(bytes, maxBytes);
}

/**
 * The cost of operations whose figure reads no variable, by document and operation name.
 * Apollo's document store and the WebSocket side's document cache hand the same
 * DocumentNode to every request of one query text, so a document clients send
 * again and again is measured once, and forgotten with the document.
 */
const known = new WeakMap<DocumentNode, Map<string, { schema: GraphQLSchema; bytes: number }>>();
