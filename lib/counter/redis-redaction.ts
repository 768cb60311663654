/**
 * The error as it may be logged. ioredis attaches to a reply error the command it answered, and an
 * AUTH's (or HELLO's) arguments are the password: the command is dropped. Redis may quote the
 * arguments too (Redis 7: "ERR unknown command 'auth', with args beginning with: ..."): the password
 * is masked. An error with no command (the socket's) quotes nothing this process sent.
 */
export function loggableError<E extends Error>(error: E, password = ''): E {
  if (!('command' in error)) return error;
  const mask = (text: string) => (password ? text.replaceAll(password, '****') : text);
  return Object.assign(new Error(mask(error.message)), { name: error.name, stack: mask(error.stack ?? '') }) as E;
}
