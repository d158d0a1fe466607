import { hash, randomFillSync, timingSafeEqual } from 'node:crypto';
import { CLICK_STATUSES, ClickStatus } from './click.entity';

/**
 * Click ids carry what attribution needs and prove they are ours, so a conversion can be
 * attributed before (or without) reading the click row:
 *
 *   base64url( kind(1) | link uuid(16) | clicked-at ms(6) | random(8) | HMAC-SHA256(first 31)[0..14) )
 *
 * `kind` is 1 for a click that was allowed, and 2… for one that was not (the click's status, as
 * CLICK_STATUSES orders them), in its low four bits; its high four bits are the id (0–15) of the
 * key that signed it, so a secret can be rotated while the ids of the old one stay valid
 * (CLICK_SECRET_KEY_ID, CLICK_SECRET_PREVIOUS: docs/operations.md). Ids from before key ids
 * carry key 0. Signed like the rest, so a blocked click's id cannot be turned into one that
 * earns, nor an id moved to another key.
 *
 * 45 bytes, a multiple of 3, so the 60 characters have no padding bits: changing any one of
 * them changes the bytes, and a string has exactly one decoding.
 */
const KIND_OF_STATUS = new Map<ClickStatus, number>(CLICK_STATUSES.map((status, i) => [status, i + 1]));
const PAYLOAD_BYTES = 1 + 16 + 6 + 8;
const MAC_BYTES = 14;
const TOTAL_BYTES = PAYLOAD_BYTES + MAC_BYTES;
export const CLICK_ID_LENGTH = (TOTAL_BYTES / 3) * 4;
const CLICK_ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${CLICK_ID_LENGTH}}$`);
const UUID_HEX = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const MAX_TIMESTAMP = 2 ** 48 - 1;

export interface VerifiedClickId {
  linkId: string;
  clickedAt: Date;
  /** ok, or why the click was not allowed (it then earns nothing). */
  status: ClickStatus;
}

/** Random bytes drawn from a refilled pool: one syscall per 512 click ids instead of one each. */
class RandomPool {
  private readonly pool = Buffer.alloc(8 * 512);
  private offset = this.pool.length;

  copy(target: Buffer, at: number, length: number): void {
    if (this.offset + length > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    this.pool.copy(target, at, this.offset, this.offset + length);
    this.offset += length;
  }
}

const BLOCK = 64;

/**
 * HMAC-SHA256 (RFC 2104) of short messages with one key, as `createHmac` computes it, in two
 * one-shot `crypto.hash` calls on buffers prepared once per key: `createHmac` sets up a keyed
 * object per call, which cost a click id about half as much again (measured in bench/README.md).
 */
export class Sha256Hmac {
  private readonly inner: Buffer;
  private readonly outer = Buffer.alloc(BLOCK + 32);

  constructor(
    key: Buffer,
    private readonly messageBytes: number,
  ) {
    const block = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? hash('sha256', key, 'buffer') : key).copy(block);
    this.inner = Buffer.alloc(BLOCK + messageBytes);
    for (let i = 0; i < BLOCK; i++) {
      this.inner[i] = block[i] ^ 0x36;
      this.outer[i] = block[i] ^ 0x5c;
    }
  }

  /** The MAC of `message` (exactly `messageBytes` long). */
  digest(message: Buffer): Buffer {
    if (message.length !== this.messageBytes) throw new Error(`Sha256Hmac: expected ${this.messageBytes} bytes`);
    message.copy(this.inner, BLOCK);
    hash('sha256', this.inner, 'buffer').copy(this.outer, BLOCK);
    return hash('sha256', this.outer, 'buffer');
  }
}

/** The 16 bytes of a link id as click ids carry them; convert once to issue many ids for one link. */
export function linkIdBytes(linkId: string): Buffer {
  if (!UUID_HEX.test(linkId)) throw new Error(`not a link id: ${linkId}`);
  return Buffer.from(linkId.replace(/-/g, ''), 'hex');
}

/** A secret that verifies click ids signed under its key id (a rotated-out one, say). */
export interface ClickKey {
  keyId: number;
  secret: string | Buffer;
}

export const MAX_CLICK_KEY_ID = 15;

function keyBytes(secret: string | Buffer): Buffer {
  const key = Buffer.isBuffer(secret) ? Buffer.from(secret) : Buffer.from(secret, 'utf8');
  if (key.length < 16) throw new Error('the click secret must be at least 16 bytes');
  return key;
}

export class ClickIdCodec {
  /** The secret of each key id this codec verifies; `keyId`'s signs what it issues. */
  private readonly keys = new Map<number, Sha256Hmac>();
  private readonly keyId: number;
  private readonly random = new RandomPool();

  /** `secret` signs under `keyId` (0 unless rotated); `previous` keys still verify the ids they signed. */
  constructor(secret: string | Buffer, keyId = 0, previous: ClickKey[] = []) {
    for (const key of [{ keyId, secret }, ...previous]) {
      if (!Number.isInteger(key.keyId) || key.keyId < 0 || key.keyId > MAX_CLICK_KEY_ID) throw new Error(`a click key id is 0 to ${MAX_CLICK_KEY_ID}`);
      if (this.keys.has(key.keyId)) throw new Error(`two click secrets with key id ${key.keyId}`);
      this.keys.set(key.keyId, new Sha256Hmac(keyBytes(key.secret), PAYLOAD_BYTES));
    }
    this.keyId = keyId;
  }

  /** `link`: the link id, or its linkIdBytes(). */
  issue(link: string | Buffer, clickedAt: Date, status: ClickStatus = 'ok'): string {
    const linkBytes = typeof link === 'string' ? linkIdBytes(link) : link;
    if (linkBytes.length !== 16) throw new Error('a link id is 16 bytes');
    const ms = clickedAt.getTime();
    if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIMESTAMP) throw new Error('click time out of range');
    const bytes = Buffer.allocUnsafe(TOTAL_BYTES);
    bytes[0] = (this.keyId << 4) | (KIND_OF_STATUS.get(status) as number);
    linkBytes.copy(bytes, 1);
    bytes.writeUIntBE(ms, 17, 6);
    this.random.copy(bytes, 23, 8);
    (this.keys.get(this.keyId) as Sha256Hmac).digest(bytes.subarray(0, PAYLOAD_BYTES)).copy(bytes, PAYLOAD_BYTES, 0, MAC_BYTES);
    return bytes.toString('base64url');
  }

  /** The link and time a genuine click id carries; null for anything else. Never throws. */
  verify(clickId: unknown): VerifiedClickId | null {
    if (typeof clickId !== 'string' || !CLICK_ID_PATTERN.test(clickId)) return null;
    const bytes = Buffer.from(clickId, 'base64url');
    const status = CLICK_STATUSES[(bytes[0] & 0x0f) - 1];
    const key = this.keys.get(bytes[0] >> 4);
    if (bytes.length !== TOTAL_BYTES || !status || !key) return null;
    const expected = key.digest(bytes.subarray(0, PAYLOAD_BYTES)).subarray(0, MAC_BYTES);
    if (!timingSafeEqual(expected, bytes.subarray(PAYLOAD_BYTES))) return null;
    const hex = bytes.toString('hex', 1, 17);
    return {
      linkId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      clickedAt: new Date(bytes.readUIntBE(17, 6)),
      status,
    };
  }
}
