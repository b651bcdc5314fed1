// Reads a JSON array of {body, key, timestamp?} on stdin and writes a JSON array of signature headers made by the
// official retell-sdk's Retell.sign. Retell.sign always stamps Date.now(), so a requested timestamp is
// obtained by pinning Date.now for that one call (how a stale delivery is made).
const Retell = require('retell-sdk').default;
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const realNow = Date.now;
  const out = JSON.parse(input).map(({ body, key, timestamp }) => {
    if (timestamp !== undefined && timestamp !== null) Date.now = () => timestamp;
    try {
      return Retell.sign(body, key);
    } finally {
      Date.now = realNow;
    }
  });
  process.stdout.write(JSON.stringify(out));
});
