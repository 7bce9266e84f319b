/** The contract's limits, in one place (a leaf: imports nothing of the project). */
export const limits = {
  /** Message content, in Unicode code points. */
  contentMin: 1,
  contentMax: 100_000,
  /** Members of a group, the creator included. */
  groupMax: 100,
  groupTitleMax: 100,
  usernamePattern: /^[a-z0-9_]{3,32}$/,
  passwordMin: 8,
  /** Longer passwords only cost hashing time; nobody types more. */
  passwordMax: 1024,
  displayNameMax: 64,
  /** first/last of any connection. */
  pageMax: 100,
  /** Messages returned when neither first nor last is given. */
  messagesDefault: 50,
  clientMessageIdMax: 128,
  /** A device's push token, in UTF-16 units: FCM's are about 150 to 250 characters. */
  pushTokenMax: 512,
  /** Push tokens one user holds at most: registering another drops their least recently registered. */
  pushTokensPerUser: 20,
  /** Ids in one argument list (memberIds, userIds of presence). */
  idListMax: 100,
  /** Conversations resumed by one messageAdded(positions:). */
  positionsMax: 1000,
  /** Live sessions (signed-in devices) of one user; signing in past it ends the least recently used. */
  sessionsMax: 100,
  /** Users one user may have blocked at once. */
  blocksMax: 1000,
  /** A report's note and a suspension's reason, in Unicode code points. */
  reportNoteMax: 1000,
  /** Distinct emoji on one message. */
  reactionsMax: 20,
  /** How long a typing indicator is shown unless renewed. */
  typingShownMs: 6000,
  /** Typing renewals closer together than this are absorbed, not re-published. */
  typingRenewSeconds: 2,
  /** Attachments of one message. */
  attachmentsMax: 10,
  /** An uploaded file's name, in code points. */
  fileNameMax: 255,
  /** A declared MIME type, in characters. */
  contentTypeMax: 255,
  /** An image's pixels (width × height, every frame together). */
  imagePixelsMax: 50_000_000,
  /** An avatar upload, in bytes. */
  avatarBytesMax: 5 * 1024 * 1024,
  /** The side of the square an avatar is stored as, in pixels. */
  avatarSize: 256,
  /** The longer side of an image's preview, in pixels. */
  thumbnailSize: 320,
  /** How long an upload URL may be used. */
  uploadUrlSeconds: 15 * 60,
  /** How long attachment and avatar URLs stay valid. */
  downloadUrlSeconds: 60 * 60,
  /** How long an exportMyData URL stays valid. */
  exportUrlSeconds: 60 * 60,
  /** Uploads never attached are deleted after this long. */
  uploadOrphanHours: 24,
  /** An MLS commit or proposal with its Welcome, in bytes (decoded). */
  mlsHandshakeBytesMax: 1024 * 1024,
  /** An MLS application message, in bytes (decoded). */
  mlsApplicationBytesMax: 128 * 1024,
  /** Unclaimed KeyPackages one session (device) holds at most, and uploads at once. */
  keyPackagesPerSession: 100,
  /** One KeyPackage, in bytes (decoded). */
  keyPackageBytesMax: 64 * 1024,
  /** An MLS group id, in bytes (decoded). */
  mlsGroupIdBytesMax: 256,
} as const;
