import fc from 'fast-check';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { CLICK_ID_LENGTH, ClickIdCodec, linkIdBytes, Sha256Hmac } from './click-id';
import { CLICK_STATUSES } from './click.entity';

describe('Sha256Hmac', () => {
  it('computes what createHmac computes, for any key length and message, called again and again', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.integer({ min: 0, max: 100 }), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), (key, size, seeds) => {
        const mac = new Sha256Hmac(Buffer.from(key), size);
        for (const seed of seeds) {
          const message = Buffer.alloc(size, seed % 256);
          if (size > 0) message[seed % size] ^= 0xa5;
          expect(mac.digest(message)).toEqual(createHmac('sha256', Buffer.from(key)).update(message).digest());
        }
      }),
    );
  });

  it('refuses a message of another length', () => {
    expect(() => new Sha256Hmac(randomBytes(32), 31).digest(Buffer.alloc(30))).toThrow(/31 bytes/);
  });
});

describe('ClickIdCodec', () => {
  it('verifies an id signed with createHmac, as click ids were signed before', () => {
    const secret = randomBytes(32);
    const payload = Buffer.concat([Buffer.from([1]), linkIdBytes(randomUUID()), Buffer.from([0, 0, 1, 2, 3, 4]), randomBytes(8)]);
    const id = Buffer.concat([payload, createHmac('sha256', secret).update(payload).digest().subarray(0, 14)]).toString('base64url');
    expect(new ClickIdCodec(secret).verify(id)).toMatchObject({ status: 'ok' });
  });

  const codec = new ClickIdCodec(randomBytes(32));
  const linkId = randomUUID();
  const clickedAt = new Date('2026-03-01T12:34:56.789Z');

  it('round-trips the link and the millisecond, in 60 URL-safe characters', () => {
    const id = codec.issue(linkId, clickedAt);
    expect(id).toMatch(new RegExp(`^[A-Za-z0-9_-]{${CLICK_ID_LENGTH}}$`));
    expect(CLICK_ID_LENGTH).toBe(60);
    expect(codec.verify(id)).toEqual({ linkId, clickedAt, status: 'ok' });
  });

  it('round-trips any link id and any time it can carry, future ones included', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 0, max: 2 ** 48 - 1 }), (uuid, ms) => {
        const verified = codec.verify(codec.issue(uuid, new Date(ms)));
        expect(verified?.linkId).toBe(uuid.toLowerCase());
        expect(verified?.clickedAt.getTime()).toBe(ms);
      }),
    );
  });

  it('issues the same kind of id from the link id converted once, and refuses what is not one', () => {
    const bytes = linkIdBytes(linkId);
    expect(codec.verify(codec.issue(bytes, clickedAt))).toEqual({ linkId, clickedAt, status: 'ok' });
    expect(() => linkIdBytes('not-a-uuid')).toThrow('not a link id');
    expect(() => codec.issue(bytes.subarray(0, 15), clickedAt)).toThrow('16 bytes');
  });

  it("carries a blocked click's status, signed: flipping it to an allowed click breaks the id", () => {
    for (const status of CLICK_STATUSES) expect(codec.verify(codec.issue(linkId, clickedAt, status))?.status).toBe(status);
    const bytes = Buffer.from(codec.issue(linkId, clickedAt, 'link_archived'), 'base64url');
    bytes[0] = 1;
    expect(codec.verify(bytes.toString('base64url'))).toBeNull();
  });

  it('issues a different id for each click, even at the same millisecond', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => codec.issue(linkId, clickedAt)));
    expect(ids.size).toBe(2000);
  });

  it('rejects a change to any bit of any byte', () => {
    const bytes = Buffer.from(codec.issue(linkId, clickedAt), 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = Buffer.from(bytes);
        tampered[i] ^= 1 << bit;
        expect(codec.verify(tampered.toString('base64url'))).toBeNull();
      }
    }
  });

  it('rejects a change to any character', () => {
    const id = codec.issue(linkId, clickedAt);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < id.length; i++) {
      for (const char of alphabet) {
        if (char !== id[i]) expect(codec.verify(id.slice(0, i) + char + id.slice(i + 1))).toBeNull();
      }
    }
  });

  it('rejects truncated, extended, padded and foreign input', () => {
    const id = codec.issue(linkId, clickedAt);
    for (let n = 0; n < id.length; n++) expect(codec.verify(id.slice(0, n))).toBeNull();
    for (const other of [id + 'A', id + '=', `${id.slice(0, -2)}==`, id.replace(/-/g, '+'), id.toUpperCase(), '', ' '.repeat(60)]) {
      if (other !== id) expect(codec.verify(other)).toBeNull();
    }
    for (const value of [null, undefined, 42, {}, [id]]) expect(codec.verify(value)).toBeNull();
  });

  it('rejects an id signed with another secret', () => {
    expect(new ClickIdCodec(randomBytes(32)).verify(codec.issue(linkId, clickedAt))).toBeNull();
  });

  it('rejects a forged payload with a guessed signature', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 45, maxLength: 45 }), (bytes) => codec.verify(Buffer.from(bytes).toString('base64url')) === null));
  });

  it('refuses to issue for a non-uuid link, a time out of range, or a short secret', () => {
    expect(() => codec.issue('not-a-uuid', clickedAt)).toThrow();
    expect(() => codec.issue(linkId, new Date(-1))).toThrow();
    expect(() => codec.issue(linkId, new Date(Number.NaN))).toThrow();
    expect(() => new ClickIdCodec('short')).toThrow();
  });

  describe('rotating the secret with a key id', () => {
    const oldSecret = randomBytes(32);
    const newSecret = randomBytes(32);
    const before = new ClickIdCodec(oldSecret); // key id 0: every id from before key ids
    const rotated = new ClickIdCodec(newSecret, 1, [{ keyId: 0, secret: oldSecret }]);
    const done = new ClickIdCodec(newSecret, 1);

    it('verifies the ids the old secret signed while it is kept, and signs new ones with the new key', () => {
      const oldId = before.issue(linkId, clickedAt, 'offer_paused');
      expect(rotated.verify(oldId)).toEqual({ linkId, clickedAt, status: 'offer_paused' });
      const newId = rotated.issue(linkId, clickedAt);
      expect(Buffer.from(newId, 'base64url')[0] >> 4).toBe(1);
      expect(rotated.verify(newId)).toEqual({ linkId, clickedAt, status: 'ok' });
      // Once the old secret is dropped its ids are refused; the old codec never knew key 1.
      expect(done.verify(oldId)).toBeNull();
      expect(done.verify(newId)).toEqual({ linkId, clickedAt, status: 'ok' });
      expect(before.verify(newId)).toBeNull();
    });

    it('signs the key id: moving an id to another key breaks it', () => {
      const bytes = Buffer.from(rotated.issue(linkId, clickedAt), 'base64url');
      bytes[0] = bytes[0] & 0x0f; // claims key 0
      expect(rotated.verify(bytes.toString('base64url'))).toBeNull();
    });

    it('refuses key ids out of range and two secrets under one id', () => {
      expect(() => new ClickIdCodec(newSecret, 16)).toThrow('0 to 15');
      expect(() => new ClickIdCodec(newSecret, 2, [{ keyId: 2, secret: oldSecret }])).toThrow('two click secrets with key id 2');
    });
  });
});
