import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from './free-port';
import { isRunning, kill } from './processes';

const DYNALITE_CLI = fileURLToPath(new URL('../../node_modules/dynalite/cli.js', import.meta.url));

/**
 * dynalite (a DynamoDB API implementation) in a process of its own, in memory, on a free loopback
 * port: like a server, it can be stopped (its data is lost), started again and frozen with SIGSTOP.
 * Each start creates `table`, shaped as serverless.yml's counter table.
 */
export class DynaliteProcess {
  #child: ChildProcess | undefined;
  #tables = 0;
  /** A client for assertions: one attempt, no retries. */
  readonly client: DynamoDBClient;
  readonly table = 'counters';

  private constructor(readonly port: number) {
    this.client = new DynamoDBClient({ endpoint: this.endpoint, maxAttempts: 1 });
  }

  static async start(): Promise<DynaliteProcess> {
    useLocalCredentials();
    const dynalite = new DynaliteProcess(await freePort());
    await dynalite.restart();
    return dynalite;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return isRunning(this.#child);
  }

  /** Starts the process again (empty), and creates the counter table. */
  async restart(): Promise<void> {
    // Tables are ACTIVE as soon as they are created (dynalite keeps them CREATING for 500 ms by default).
    const args = ['--port', String(this.port), '--host', '127.0.0.1', '--createTableMs', '0', '--deleteTableMs', '0'];
    const child = spawn(process.execPath, [DYNALITE_CLI, ...args], { stdio: 'ignore' });
    this.#child = child;
    for (let attempt = 0; attempt < 100 && child.exitCode === null; attempt += 1) {
      try {
        await this.client.send(await counterTable(this.table));
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`dynalite did not start on port ${this.port} (exit code ${child.exitCode})`);
  }

  /** Another table shaped as the counter table; returns its name. */
  async createTable(): Promise<string> {
    this.#tables += 1;
    const name = `counters-${this.#tables}`;
    await this.client.send(await counterTable(name));
    return name;
  }

  /** The item of `key` in `table`, read consistently. */
  async item(key: string, table = this.table) {
    const { KEY_ATTRIBUTE } = await adapterItems();
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: table, Key: { [KEY_ATTRIBUTE]: { S: key } }, ConsistentRead: true }),
    );
    return Item;
  }

  /** Ends the process: new connections are refused, and the data is gone. */
  stop(): Promise<void> {
    return kill(this.#child);
  }

  /** Connections are accepted (by the kernel) and stay open, but nothing answers. */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#child?.kill('SIGCONT');
  }
}

/** The SDK signs every request; dynalite accepts any credentials and region. */
function useLocalCredentials(): void {
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
}

/**
 * The adapter's item attributes, loaded when first needed: a test that imports the handlers
 * configures their logger through the environment, which a module loaded earlier would fix.
 */
const adapterItems = () => import('../../lib/counter/dynamodb');

/** A table shaped as serverless.yml's counter table. */
async function counterTable(name: string): Promise<CreateTableCommand> {
  const { KEY_ATTRIBUTE } = await adapterItems();
  return new CreateTableCommand({
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: KEY_ATTRIBUTE, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: KEY_ATTRIBUTE, KeyType: 'HASH' }],
  });
}

/** DynamoDB's answer to a throttled request, byte for byte as the SDK parses it (for FaultProxy.setCannedReply). */
export function throttledReply(
  exception: 'ThrottlingException' | 'ProvisionedThroughputExceededException' | 'RequestLimitExceeded',
): string {
  return errorReply('400 Bad Request', exception, 'Rate of requests exceeds the allowed throughput.');
}

/** DynamoDB's answer with an error of its own (`status` as in a status line), as the SDK parses it. */
export function errorReply(status: string, exception: string, message: string): string {
  const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${exception}`, message });
  return [
    `HTTP/1.1 ${status}`,
    'Content-Type: application/x-amz-json-1.0',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'x-amzn-RequestId: answered-by-fault-proxy',
    '',
    body,
  ].join('\r\n');
}
