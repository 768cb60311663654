import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loggableError } from '../../lib/counter/redis-redaction';

describe('Function: loggableError', () => {
  const authReply = () =>
    Object.assign(new ReplyError("ERR unknown command 'auth', with args beginning with: 's3cret'"), {
      command: { name: 'auth', args: ['s3cret'] },
    });

  it('drops the command a reply error answered, and masks the password Redis quoted', () => {
    const logged = loggableError(authReply(), 's3cret');
    expect(logged).not.toHaveProperty('command');
    expect(logged).toMatchObject({ name: 'ReplyError' });
    expect(logged.message).toBe("ERR unknown command 'auth', with args beginning with: '****'");
    expect(logged.stack).not.toContain('s3cret');
  });

  it('keeps the message as Redis wrote it when there is no password to mask', () => {
    const logged = loggableError(authReply());
    expect(logged).not.toHaveProperty('command');
    expect(logged.message).toBe("ERR unknown command 'auth', with args beginning with: 's3cret'");
  });

  it("returns an error with no command (the socket's) as it is", () => {
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    expect(loggableError(refused, 's3cret')).toBe(refused);
  });
});
