// node test/compose/burst.mjs URL [N]: N (1,000) concurrent GETs of URL (/hello/again, right after
// one /hello), and one line: "2..N+1 once each" when every answer is a 200 with a number and the
// numbers are exactly 2..N+1, else how many were not counted and the first few answers that were not.
const [url, count = '1000'] = process.argv.slice(2);
const n = Number(count);
const answers = await Promise.all(
  Array.from({ length: n }, () =>
    fetch(url).then(
      async (response) => `${response.status} ${await response.text()}`,
      (error) => `error ${error.cause?.code ?? error.message}`,
    ),
  ),
);
const numbers = answers
  .filter((answer) => /^200 Hello ELECLE \d+$/.test(answer))
  .map((a) => Number(a.split(' ').pop()));
const exact = numbers.length === n && [...numbers].sort((a, b) => a - b).every((number, i) => number === i + 2);
const others = answers.filter((answer) => !answer.startsWith('200'));
console.log(exact ? `2..${n + 1} once each` : `${n - numbers.length} not counted: ${others.slice(0, 3).join('; ')}`);
