/** Every operation of this client, typed by the client preset (`npm run codegen` writes src/gql/). */
import { graphql } from './gql';

export const SignUp = graphql(`
  mutation SignUp($username: String!, $password: String!, $deviceName: String) {
    signUp(username: $username, password: $password, deviceName: $deviceName) {
      token
      expiresAt
      refreshToken
      user {
        id
        username
      }
    }
  }
`);

/** Spends a refresh token for a new pair; it needs no access token (see session.ts). */
export const RenewSession = graphql(`
  mutation RenewSession($refreshToken: String!) {
    renewSession(refreshToken: $refreshToken) {
      token
      expiresAt
      refreshToken
    }
  }
`);

export const CreateGroup = graphql(`
  mutation CreateGroup($title: String!, $memberIds: [ID!]!) {
    createGroup(title: $title, memberIds: $memberIds) {
      id
      title
    }
  }
`);

export const SendMessage = graphql(`
  mutation SendMessage($conversationId: ID!, $content: String!, $clientMessageId: String) {
    sendMessage(conversationId: $conversationId, content: $content, clientMessageId: $clientMessageId) {
      id
      seq
    }
  }
`);

export const History = graphql(`
  query History($conversationId: ID!, $last: Int, $before: ID) {
    messages(conversationId: $conversationId, last: $last, before: $before) {
      edges {
        cursor
        node {
          id
          seq
          content
          createdAt
          sender {
            id
            username
          }
        }
      }
      pageInfo {
        hasPreviousPage
        startCursor
      }
    }
  }
`);

export const MessageAdded = graphql(`
  subscription MessageAdded($conversationId: ID!, $after: ID) {
    messageAdded(conversationId: $conversationId, after: $after) {
      id
      seq
      content
      createdAt
      sender {
        id
        username
      }
    }
  }
`);

/** Reserves an upload: where to send the bytes, and how (see the README's Media section). */
export const CreateUpload = graphql(`
  mutation CreateUpload($input: CreateUploadInput!) {
    createUpload(input: $input) {
      id
      url
      method
      headers {
        name
        value
      }
    }
  }
`);

export const CompleteUpload = graphql(`
  mutation CompleteUpload($uploadId: ID!) {
    completeUpload(uploadId: $uploadId) {
      id
      kind
      contentType
      width
      height
    }
  }
`);

export const SendAttachments = graphql(`
  mutation SendAttachments($conversationId: ID!, $content: String!, $attachmentIds: [ID!]) {
    sendMessage(conversationId: $conversationId, content: $content, attachmentIds: $attachmentIds) {
      id
    }
  }
`);

/** The newest message's attachments, as a member sees them: signed URLs that expire. */
export const NewestAttachments = graphql(`
  query NewestAttachments($conversationId: ID!) {
    messages(conversationId: $conversationId, last: 1) {
      edges {
        node {
          id
          attachments {
            id
            kind
            contentType
            byteSize
            width
            height
            url
            urlExpiresAt
          }
        }
      }
    }
  }
`);
