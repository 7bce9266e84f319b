/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation SignUp($username: String!, $password: String!, $deviceName: String) {\n    signUp(username: $username, password: $password, deviceName: $deviceName) {\n      token\n      expiresAt\n      refreshToken\n      user {\n        id\n        username\n      }\n    }\n  }\n": typeof types.SignUpDocument,
    "\n  mutation RenewSession($refreshToken: String!) {\n    renewSession(refreshToken: $refreshToken) {\n      token\n      expiresAt\n      refreshToken\n    }\n  }\n": typeof types.RenewSessionDocument,
    "\n  mutation CreateGroup($title: String!, $memberIds: [ID!]!) {\n    createGroup(title: $title, memberIds: $memberIds) {\n      id\n      title\n    }\n  }\n": typeof types.CreateGroupDocument,
    "\n  mutation SendMessage($conversationId: ID!, $content: String!, $clientMessageId: String) {\n    sendMessage(conversationId: $conversationId, content: $content, clientMessageId: $clientMessageId) {\n      id\n      seq\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  query History($conversationId: ID!, $last: Int, $before: ID) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges {\n        cursor\n        node {\n          id\n          seq\n          content\n          createdAt\n          sender {\n            id\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n": typeof types.HistoryDocument,
    "\n  subscription MessageAdded($conversationId: ID!, $after: ID) {\n    messageAdded(conversationId: $conversationId, after: $after) {\n      id\n      seq\n      content\n      createdAt\n      sender {\n        id\n        username\n      }\n    }\n  }\n": typeof types.MessageAddedDocument,
    "\n  mutation CreateUpload($input: CreateUploadInput!) {\n    createUpload(input: $input) {\n      id\n      url\n      method\n      headers {\n        name\n        value\n      }\n    }\n  }\n": typeof types.CreateUploadDocument,
    "\n  mutation CompleteUpload($uploadId: ID!) {\n    completeUpload(uploadId: $uploadId) {\n      id\n      kind\n      contentType\n      width\n      height\n    }\n  }\n": typeof types.CompleteUploadDocument,
    "\n  mutation SendAttachments($conversationId: ID!, $content: String!, $attachmentIds: [ID!]) {\n    sendMessage(conversationId: $conversationId, content: $content, attachmentIds: $attachmentIds) {\n      id\n    }\n  }\n": typeof types.SendAttachmentsDocument,
    "\n  query NewestAttachments($conversationId: ID!) {\n    messages(conversationId: $conversationId, last: 1) {\n      edges {\n        node {\n          id\n          attachments {\n            id\n            kind\n            contentType\n            byteSize\n            width\n            height\n            url\n            urlExpiresAt\n          }\n        }\n      }\n    }\n  }\n": typeof types.NewestAttachmentsDocument,
};
const documents: Documents = {
    "\n  mutation SignUp($username: String!, $password: String!, $deviceName: String) {\n    signUp(username: $username, password: $password, deviceName: $deviceName) {\n      token\n      expiresAt\n      refreshToken\n      user {\n        id\n        username\n      }\n    }\n  }\n": types.SignUpDocument,
    "\n  mutation RenewSession($refreshToken: String!) {\n    renewSession(refreshToken: $refreshToken) {\n      token\n      expiresAt\n      refreshToken\n    }\n  }\n": types.RenewSessionDocument,
    "\n  mutation CreateGroup($title: String!, $memberIds: [ID!]!) {\n    createGroup(title: $title, memberIds: $memberIds) {\n      id\n      title\n    }\n  }\n": types.CreateGroupDocument,
    "\n  mutation SendMessage($conversationId: ID!, $content: String!, $clientMessageId: String) {\n    sendMessage(conversationId: $conversationId, content: $content, clientMessageId: $clientMessageId) {\n      id\n      seq\n    }\n  }\n": types.SendMessageDocument,
    "\n  query History($conversationId: ID!, $last: Int, $before: ID) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges {\n        cursor\n        node {\n          id\n          seq\n          content\n          createdAt\n          sender {\n            id\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n": types.HistoryDocument,
    "\n  subscription MessageAdded($conversationId: ID!, $after: ID) {\n    messageAdded(conversationId: $conversationId, after: $after) {\n      id\n      seq\n      content\n      createdAt\n      sender {\n        id\n        username\n      }\n    }\n  }\n": types.MessageAddedDocument,
    "\n  mutation CreateUpload($input: CreateUploadInput!) {\n    createUpload(input: $input) {\n      id\n      url\n      method\n      headers {\n        name\n        value\n      }\n    }\n  }\n": types.CreateUploadDocument,
    "\n  mutation CompleteUpload($uploadId: ID!) {\n    completeUpload(uploadId: $uploadId) {\n      id\n      kind\n      contentType\n      width\n      height\n    }\n  }\n": types.CompleteUploadDocument,
    "\n  mutation SendAttachments($conversationId: ID!, $content: String!, $attachmentIds: [ID!]) {\n    sendMessage(conversationId: $conversationId, content: $content, attachmentIds: $attachmentIds) {\n      id\n    }\n  }\n": types.SendAttachmentsDocument,
    "\n  query NewestAttachments($conversationId: ID!) {\n    messages(conversationId: $conversationId, last: 1) {\n      edges {\n        node {\n          id\n          attachments {\n            id\n            kind\n            contentType\n            byteSize\n            width\n            height\n            url\n            urlExpiresAt\n          }\n        }\n      }\n    }\n  }\n": types.NewestAttachmentsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignUp($username: String!, $password: String!, $deviceName: String) {\n    signUp(username: $username, password: $password, deviceName: $deviceName) {\n      token\n      expiresAt\n      refreshToken\n      user {\n        id\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SignUp($username: String!, $password: String!, $deviceName: String) {\n    signUp(username: $username, password: $password, deviceName: $deviceName) {\n      token\n      expiresAt\n      refreshToken\n      user {\n        id\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RenewSession($refreshToken: String!) {\n    renewSession(refreshToken: $refreshToken) {\n      token\n      expiresAt\n      refreshToken\n    }\n  }\n"): (typeof documents)["\n  mutation RenewSession($refreshToken: String!) {\n    renewSession(refreshToken: $refreshToken) {\n      token\n      expiresAt\n      refreshToken\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateGroup($title: String!, $memberIds: [ID!]!) {\n    createGroup(title: $title, memberIds: $memberIds) {\n      id\n      title\n    }\n  }\n"): (typeof documents)["\n  mutation CreateGroup($title: String!, $memberIds: [ID!]!) {\n    createGroup(title: $title, memberIds: $memberIds) {\n      id\n      title\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendMessage($conversationId: ID!, $content: String!, $clientMessageId: String) {\n    sendMessage(conversationId: $conversationId, content: $content, clientMessageId: $clientMessageId) {\n      id\n      seq\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($conversationId: ID!, $content: String!, $clientMessageId: String) {\n    sendMessage(conversationId: $conversationId, content: $content, clientMessageId: $clientMessageId) {\n      id\n      seq\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query History($conversationId: ID!, $last: Int, $before: ID) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges {\n        cursor\n        node {\n          id\n          seq\n          content\n          createdAt\n          sender {\n            id\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query History($conversationId: ID!, $last: Int, $before: ID) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges {\n        cursor\n        node {\n          id\n          seq\n          content\n          createdAt\n          sender {\n            id\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription MessageAdded($conversationId: ID!, $after: ID) {\n    messageAdded(conversationId: $conversationId, after: $after) {\n      id\n      seq\n      content\n      createdAt\n      sender {\n        id\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription MessageAdded($conversationId: ID!, $after: ID) {\n    messageAdded(conversationId: $conversationId, after: $after) {\n      id\n      seq\n      content\n      createdAt\n      sender {\n        id\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateUpload($input: CreateUploadInput!) {\n    createUpload(input: $input) {\n      id\n      url\n      method\n      headers {\n        name\n        value\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateUpload($input: CreateUploadInput!) {\n    createUpload(input: $input) {\n      id\n      url\n      method\n      headers {\n        name\n        value\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CompleteUpload($uploadId: ID!) {\n    completeUpload(uploadId: $uploadId) {\n      id\n      kind\n      contentType\n      width\n      height\n    }\n  }\n"): (typeof documents)["\n  mutation CompleteUpload($uploadId: ID!) {\n    completeUpload(uploadId: $uploadId) {\n      id\n      kind\n      contentType\n      width\n      height\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendAttachments($conversationId: ID!, $content: String!, $attachmentIds: [ID!]) {\n    sendMessage(conversationId: $conversationId, content: $content, attachmentIds: $attachmentIds) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation SendAttachments($conversationId: ID!, $content: String!, $attachmentIds: [ID!]) {\n    sendMessage(conversationId: $conversationId, content: $content, attachmentIds: $attachmentIds) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NewestAttachments($conversationId: ID!) {\n    messages(conversationId: $conversationId, last: 1) {\n      edges {\n        node {\n          id\n          attachments {\n            id\n            kind\n            contentType\n            byteSize\n            width\n            height\n            url\n            urlExpiresAt\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query NewestAttachments($conversationId: ID!) {\n    messages(conversationId: $conversationId, last: 1) {\n      edges {\n        node {\n          id\n          attachments {\n            id\n            kind\n            contentType\n            byteSize\n            width\n            height\n            url\n            urlExpiresAt\n          }\n        }\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;