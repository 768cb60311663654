import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { KEY_ATTRIBUTE } from '../../lib/counter/dynamodb';

/** dynalite (a DynamoDB API implementation) on a free loopback port, in this process. */
export interface TestDynamoDb {
  endpoint: string;
  /** Creates a table shaped as serverless.yml's and returns its name. */
  createTable(): Promise<string>;
  /** A client for assertions. */
  client: DynamoDBClient;
  stop(): Promise<void>;
}

let tables = 0;

export async function startDynalite(): Promise<TestDynamoDb> {
  // The SDK signs every request; dynalite accepts any credentials and region.
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint });
  return {
    endpoint,
    client,
    async createTable() {
      tables += 1;
      const name = `counters-${process.pid}-${tables}`;
      await client.send(counterTable(name));
      return name;
    },
    async stop() {
      client.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A table shaped as serverless.yml's counter table. */
export function counterTable(name: string): CreateTableCommand {
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
  const body = JSON.stringify({
    __type: `com.amazonaws.dynamodb.v20120810#${exception}`,
    message: 'Rate of requests exceeds the allowed throughput.',
  });
  return [
    'HTTP/1.1 400 Bad Request',
    'Content-Type: application/x-amz-json-1.0',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'x-amzn-RequestId: throttled-by-fault-proxy',
    '',
    body,
  ].join('\r\n');
}
