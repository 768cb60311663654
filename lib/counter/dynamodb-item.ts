import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { NOT_APPLIED, outcomeAttribute } from './dynamodb-outcome';

/** The table's partition key; serverless.yml's table must use the same (a test checks it). */
export const KEY_ATTRIBUTE = 'id';
/** The key GET /health reads; never written. */
const HEALTH_KEY = 'health:probe';
/** Epoch seconds: the attribute the table's TTL is enabled on. */
export const TTL_ATTRIBUTE = 'expiresAt';

/** How far apart the clocks of two function instances may be (Amazon Time Sync keeps them far closer). */
const CLOCK_TOLERANCE_MS = 100;

/**
 * Opens a window, unless a later one is open already (a put that reached DynamoDB late) or this
 * request was settled as not applied. The new item drops every older record.
 */
export function openWindowPut(table: string, key: string, requestId: string, openedAt: number, windowMs: number) {
  const closesAt = openedAt + windowMs;
  return new PutCommand({
    TableName: table,
    Item: {
      [KEY_ATTRIBUTE]: key,
      count: 1,
      openedAt,
      closesAt,
      [TTL_ATTRIBUTE]: Math.ceil(closesAt / 1000),
      [outcomeAttribute(requestId)]: 1,
    },
    ConditionExpression: '(attribute_not_exists(#openedAt) OR #openedAt < :openedAt) AND attribute_not_exists(#record)',
    ExpressionAttributeNames: { '#openedAt': 'openedAt', '#record': outcomeAttribute(requestId) },
    ExpressionAttributeValues: { ':openedAt': openedAt },
  });
}

/**
 * `SET count = count + 1` (not ADD, which would create a missing item; the condition refuses one
 * anyway) also records the new count under this request's id, and removes the `removed` records.
 */
export function incrementUpdate(table: string, key: string, requestId: string, now: number, removed: string[]) {
  const removals = removed.map((_, index) => `#answered${index}`);
  return new UpdateCommand({
    TableName: table,
    Key: { [KEY_ATTRIBUTE]: key },
    UpdateExpression: `SET #count = #count + :one, #record = #count + :one${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`,
    // Also false for a missing item, so no item is created. The second half keeps an increment
    // that reaches DynamoDB late (after its request was answered 503) out of a window opened after
    // it; the last, out of this window once a lookup has marked it as not applied.
    ConditionExpression:
      '#closesAt > :now AND (attribute_not_exists(#openedAt) OR #openedAt <= :sentBy) AND attribute_not_exists(#record)',
    ExpressionAttributeNames: {
      '#count': 'count',
      '#closesAt': 'closesAt',
      '#openedAt': 'openedAt',
      '#record': outcomeAttribute(requestId),
      ...Object.fromEntries(removed.map((id, index) => [removals[index], outcomeAttribute(id)])),
    },
    ExpressionAttributeValues: { ':one': 1, ':now': now, ':sentBy': now + CLOCK_TOLERANCE_MS },
    ReturnValues: 'UPDATED_NEW',
  });
}

/**
 * Marks a write as not applied unless its record is there. On a missing item the marker comes
 * with a closed window and a TTL, so nothing counts in it and it is cleaned up.
 */
export function markNotAppliedUpdate(table: string, key: string, requestId: string) {
  return new UpdateCommand({
    TableName: table,
    Key: { [KEY_ATTRIBUTE]: key },
    UpdateExpression:
      'SET #record = :notApplied, #closesAt = if_not_exists(#closesAt, :closed), #expiresAt = if_not_exists(#expiresAt, :soon)',
    ConditionExpression: 'attribute_not_exists(#record)',
    ExpressionAttributeNames: {
      '#record': outcomeAttribute(requestId),
      '#closesAt': 'closesAt',
      '#expiresAt': TTL_ATTRIBUTE,
    },
    ExpressionAttributeValues: {
      ':notApplied': NOT_APPLIED,
      ':closed': 0,
      ':soon': Math.ceil(Date.now() / 1000) + 60,
    },
  });
}

/** Reads the counter's item as the last write left it. */
export function consistentRead(table: string, key: string) {
  return new GetCommand({ TableName: table, Key: { [KEY_ATTRIBUTE]: key }, ConsistentRead: true });
}

/** Reads an item that never exists. */
export function healthRead(table: string) {
  return new GetCommand({ TableName: table, Key: { [KEY_ATTRIBUTE]: HEALTH_KEY } });
}
