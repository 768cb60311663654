// Just enough CloudWatch alarm evaluation for the template tests to ask "does this alarm fire on that
// traffic?": metric math expressions with numbers, metric ids, + - * /, comparisons, AND/OR, IF(c, a,
// b), MAX([...]) and MIN([...]); and an alarm's M-out-of-N evaluation of one value per period, with
// missing data not breaching. Anything else throws, so a test cannot pass on an expression this file
// does not understand.

type Token = { kind: 'number'; value: number } | { kind: 'id'; value: string } | { kind: 'op'; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|&&|\|\||[-+*/()[\],<>]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) throw new Error(`alarm-math: cannot read "${text.slice(at)}"`);
    at = pattern.lastIndex;
    if (match[1] !== undefined) tokens.push({ kind: 'number', value: Number(match[1]) });
    else if (match[2] !== undefined) tokens.push({ kind: 'id', value: match[2] });
    else tokens.push({ kind: 'op', value: match[3] as string });
  }
  return tokens;
}

/** A value of one period: a number, or undefined when a metric it reads has no data then. */
type Value = number | undefined;
type Node = (values: Record<string, Value>) => Value | Value[];

const numeric = (value: Value | Value[]): Value => {
  if (Array.isArray(value)) throw new Error('alarm-math: an array where a number belongs');
  return value;
};
const both = (a: Value, b: Value, f: (x: number, y: number) => number): Value =>
  a === undefined || b === undefined ? undefined : f(a, b);

const BINARY: Record<string, (x: number, y: number) => number> = {
  '+': (x, y) => x + y,
  '-': (x, y) => x - y,
  '*': (x, y) => x * y,
  '/': (x, y) => x / y,
  '>': (x, y) => Number(x > y),
  '<': (x, y) => Number(x < y),
  '>=': (x, y) => Number(x >= y),
  '<=': (x, y) => Number(x <= y),
  '==': (x, y) => Number(x === y),
  '!=': (x, y) => Number(x !== y),
  AND: (x, y) => Number(x !== 0 && y !== 0),
  OR: (x, y) => Number(x !== 0 || y !== 0),
};

/** Parses a metric math expression into a function of one period's metric values. */
export function parse(expression: string): Node {
  const tokens = tokenize(expression);
  let at = 0;
  const peek = () => tokens[at];
  const isOp = (...ops: string[]) => {
    const token = peek();
    if (!token) return false;
    const word = token.kind === 'id' ? token.value.toUpperCase() : token.value;
    return (
      (token.kind === 'op' || (token.kind === 'id' && (word === 'AND' || word === 'OR'))) &&
      ops.includes(word as string)
    );
  };
  const expect = (op: string) => {
    if (!isOp(op)) throw new Error(`alarm-math: expected "${op}" in ${expression}`);
    at += 1;
  };
  const binary =
    (next: () => Node, ops: string[], alias: Record<string, string> = {}) =>
    () => {
      let left = next();
      while (isOp(...ops)) {
        const token = tokens[at++] as Token;
        const raw = token.kind === 'id' ? String(token.value).toUpperCase() : String(token.value);
        const op = BINARY[alias[raw] ?? raw] as (x: number, y: number) => number;
        const [l, r] = [left, next()];
        left = (values) => both(numeric(l(values)), numeric(r(values)), op);
      }
      return left;
    };
  const primary = (): Node => {
    const token = tokens[at++];
    if (!token) throw new Error(`alarm-math: ${expression} ends early`);
    if (token.kind === 'number') return () => token.value;
    if (token.kind === 'op' && token.value === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (token.kind === 'op' && token.value === '-') {
      const inner = primary();
      return (values) => {
        const value = numeric(inner(values));
        return value === undefined ? undefined : -value;
      };
    }
    if (token.kind === 'op' && token.value === '[') {
      const items: Node[] = [or()];
      while (isOp(',')) {
        at += 1;
        items.push(or());
      }
      expect(']');
      return (values) => items.map((item) => numeric(item(values)));
    }
    if (token.kind === 'id' && isOp('(')) {
      at += 1;
      const args: Node[] = [or()];
      while (isOp(',')) {
        at += 1;
        args.push(or());
      }
      expect(')');
      return call(token.value.toUpperCase(), args);
    }
    if (token.kind === 'id') return (values) => values[token.value];
    throw new Error(`alarm-math: unexpected "${token.value}" in ${expression}`);
  };
  const call = (name: string, args: Node[]): Node => {
    if (name === 'IF' && args.length === 3) {
      const [condition, whenTrue, whenFalse] = args as [Node, Node, Node];
      return (values) => {
        const c = numeric(condition(values));
        if (c === undefined) return undefined;
        return numeric(c !== 0 ? whenTrue(values) : whenFalse(values));
      };
    }
    if ((name === 'MAX' || name === 'MIN') && args.length === 1) {
      return (values) => {
        const items = (args[0] as Node)(values);
        if (!Array.isArray(items)) throw new Error(`alarm-math: ${name} takes an array`);
        const present = items.filter((item): item is number => item !== undefined);
        if (present.length === 0) return undefined;
        return name === 'MAX' ? Math.max(...present) : Math.min(...present);
      };
    }
    throw new Error(`alarm-math: no function ${name}/${args.length}`);
  };
  const mul = binary(primary, ['*', '/']);
  const add = binary(mul, ['+', '-']);
  const compare = binary(add, ['>=', '<=', '==', '!=', '>', '<']);
  const and = binary(compare, ['AND', '&&'], { '&&': 'AND' });
  const or = binary(and, ['OR', '||'], { '||': 'OR' });
  const node = or();
  if (at !== tokens.length) throw new Error(`alarm-math: trailing input in ${expression}`);
  return node;
}

export interface AlarmProperties {
  Namespace?: string;
  MetricName?: string;
  Metrics?: { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: unknown }[];
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number | undefined;
  TreatMissingData?: string;
}

const COMPARE: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanThreshold: (v, t) => v > t,
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/**
 * Whether the alarm goes into ALARM on this traffic: `periods` holds one record per period of the
 * values of its metric ids (a single-metric alarm reads the id "metric"); a missing id is missing
 * data, which must not breach (TreatMissingData notBreaching).
 */
export function fires(alarm: AlarmProperties, periods: Record<string, Value>[]): boolean {
  if (alarm.TreatMissingData !== 'notBreaching') throw new Error('alarm-math: only notBreaching is modelled');
  const compare = COMPARE[alarm.ComparisonOperator];
  if (!compare) throw new Error(`alarm-math: no comparison ${alarm.ComparisonOperator}`);
  const returned = alarm.Metrics?.filter((metric) => metric.ReturnData !== false) ?? [];
  if (alarm.Metrics && (returned.length !== 1 || !returned[0]?.Expression)) {
    throw new Error('alarm-math: an alarm on metrics returns exactly one expression');
  }
  const series = returned[0]?.Expression
    ? periods.map((values) => numeric(parse(returned[0]?.Expression as string)(values)))
    : periods.map((values) => values.metric);
  const breaching = series.map((value) => value !== undefined && compare(value, alarm.Threshold));
  const needed = alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods;
  for (let end = 1; end <= breaching.length; end += 1) {
    const window = breaching.slice(Math.max(0, end - alarm.EvaluationPeriods), end);
    if (window.filter(Boolean).length >= needed) return true;
  }
  return false;
}
