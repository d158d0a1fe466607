-- Bytes per stored click, with its indexes, and the growth per day at a given volume.
-- Run against a migrated, otherwise unused database (it creates and drops one day's partition):
--   psql "$DATABASE_URL" -v rows=1000000 -v per_day=5000000 -f bench/click-storage.sql
-- The rows look like real ones: a 60-character click id, a link, offer, affiliate and advertiser
-- drawn from 20 000 links, 500 offers, 2 000 affiliates and 100 advertisers, sub1 and sub2 set on
-- most clicks, an IPv4 address, a browser's user agent, a referrer on half, a country; inserted
-- in time order in batches of 2 000 (as the click buffer writes them), :rows clicks spread
-- evenly over the share of a day they take at :per_day a day.
\set ON_ERROR_STOP on
\timing off
DROP TABLE IF EXISTS clicks_p20200101;
CREATE TABLE clicks_p20200101 (LIKE clicks INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE clicks ATTACH PARTITION clicks_p20200101 FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2020-01-02 00:00:00+00');

CREATE TEMP TABLE agents (n int, ua text);
INSERT INTO agents SELECT n, ua FROM unnest(ARRAY[
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.104 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'
]) WITH ORDINALITY AS a(ua, n);

SELECT set_config('afx.rows', :'rows', false), set_config('afx.per_day', :'per_day', false) \gset
DO $$
DECLARE
  total int := current_setting('afx.rows')::int;
  step interval := make_interval(secs => 86400.0 / current_setting('afx.per_day')::int);
  done int := 0;
BEGIN
  WHILE done < total LOOP
    INSERT INTO clicks (id, clicked_at, link_id, offer_id, affiliate_id, advertiser_id, channel, sub1, sub2, ip, user_agent, referrer, is_unique, status, country)
    SELECT translate(encode(gen_random_bytes(45), 'base64'), '+/', '-_'),
           '2020-01-01 00:00:00+00'::timestamptz + (done + i) * step,
           md5('link' || (h % 20000))::uuid, md5('offer' || (h % 500))::uuid, md5('aff' || (h % 2000))::uuid, md5('adv' || (h % 100))::uuid,
           'social', 'campaign_' || (h % 300), CASE WHEN h % 3 > 0 THEN 'creative-' || (h % 40) END,
           ('10.' || (h % 250) || '.' || ((h / 250) % 250) || '.' || ((h / 62500) % 250))::inet,
           (SELECT ua FROM agents WHERE n = 1 + h % 5),
           CASE WHEN h % 2 = 0 THEN 'https://news.example.com/articles/' || (h % 5000) END,
           h % 4 > 0, 'ok', (ARRAY['US', 'DE', 'FR', 'GB', 'BR'])[1 + h % 5]
      FROM generate_series(1, least(2000, total - done)) AS i,
           LATERAL (SELECT abs(hashtext((done + i)::text)) AS h) AS r;
    done := done + 2000;
  END LOOP;
END $$;

ANALYZE clicks_p20200101;
SELECT count(*) AS rows,
       pg_size_pretty(pg_relation_size('clicks_p20200101')) AS heap,
       pg_size_pretty(pg_indexes_size('clicks_p20200101')) AS indexes,
       pg_size_pretty(pg_total_relation_size('clicks_p20200101')) AS total,
       round(pg_total_relation_size('clicks_p20200101')::numeric / count(*)) AS bytes_per_click,
       round(pg_relation_size('clicks_p20200101')::numeric / count(*)) AS heap_bytes_per_click,
       pg_size_pretty(round(pg_total_relation_size('clicks_p20200101')::numeric / count(*) * :'per_day')) AS growth_per_day,
       pg_size_pretty(round(pg_total_relation_size('clicks_p20200101')::numeric / count(*) * :'per_day' * 365)) AS growth_per_year
  FROM clicks_p20200101;
SELECT c.relname AS index, pg_size_pretty(pg_relation_size(c.oid)) AS size, round(pg_relation_size(c.oid)::numeric / (SELECT count(*) FROM clicks_p20200101)) AS bytes_per_click
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'clicks_p20200101'::regclass ORDER BY 1;
DROP TABLE clicks_p20200101;
