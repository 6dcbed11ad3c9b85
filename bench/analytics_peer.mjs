// DuckDB (npm @duckdb/node-api) on the same events CSV loaded in memory:
// the 2- and 5-step funnels (1-day window, greedy earliest ASOF matching:
// the same semantics as opspilot's ordered funnel) and the weekly retention
// matrix. Prints one JSON object.
import { DuckDBInstance } from '@duckdb/node-api';

const [file, threads] = [process.argv[2], process.argv[3] || '2'];
const db = await DuckDBInstance.create(':memory:', { threads });
const con = await db.connect();
const t0 = performance.now();
await con.run(`CREATE TABLE ev AS SELECT user_id, event, timestamp::BIGINT AS t FROM read_csv('${file}', header=true,
  columns={'user_id': 'VARCHAR', 'event': 'VARCHAR', 'timestamp': 'BIGINT'})`);
const load = (performance.now() - t0) / 1000;

function funnelSql(steps) {
  let sql = `WITH s0 AS (SELECT user_id, t AS t0 FROM ev WHERE event = '${steps[0]}')`;
  for (let i = 1; i < steps.length; i++) {
    sql += `, s${i} AS (SELECT p.*, e.t AS t${i} FROM s${i - 1} p ASOF LEFT JOIN
      (SELECT user_id, t FROM ev WHERE event = '${steps[i]}') e ON p.user_id = e.user_id AND e.t >= p.t${i - 1})`;
  }
  const cols = steps.map((_, i) => i === 0 ? 'COUNT(DISTINCT user_id)' :
    `COUNT(DISTINCT CASE WHEN t${i} - t0 <= 86400 THEN user_id END)`);
  return `${sql} SELECT ${cols.join(', ')} FROM s${steps.length - 1}`;
}

const retentionSql = `WITH f AS (SELECT user_id, date_trunc('week', to_timestamp(min(t))) AS cohort FROM ev GROUP BY user_id),
  w AS (SELECT DISTINCT e.user_id, f.cohort, date_diff('week', f.cohort, date_trunc('week', to_timestamp(e.t))) AS k
        FROM ev e JOIN f USING (user_id))
  SELECT epoch(cohort)::BIGINT, k, COUNT(*) FROM w WHERE k < 8 GROUP BY ALL ORDER BY ALL`;

async function best(sql) {
  let bestTime = Infinity, rows;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const reader = await con.runAndReadAll(sql);
    bestTime = Math.min(bestTime, (performance.now() - t) / 1000);
    rows = reader.getRows();
  }
  return [bestTime, rows.map(r => r.map(v => Number(v)))];
}

const [f2s, f2] = await best(funnelSql(['visit', 'signup']));
const [f5s, f5] = await best(funnelSql(['visit', 'signup', 'activate', 'trial', 'pay']));
const [rs, ret] = await best(retentionSql);
console.log(JSON.stringify({ load_seconds: load, funnel2_seconds: f2s, funnel2: f2[0], funnel5_seconds: f5s,
  funnel5: f5[0], retention_seconds: rs, retention: ret }));
