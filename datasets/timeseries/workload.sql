-- The timeseries workload: dashboards read recent windows; ingestion appends readings.

-- name: device_last_day weight=10
-- params: device = pick(devices.device_id, skew=0.8); since = recent(readings.recorded_at, days=1)
SELECT recorded_at, value FROM readings
WHERE device_id = :device AND recorded_at >= :since ORDER BY recorded_at;

-- name: site_hourly weight=3
-- params: site = pick(sites.site_id); since = recent(readings.recorded_at, days=7)
SELECT date_trunc('hour', r.recorded_at) AS hour, avg(r.value) AS mean_value
FROM readings r JOIN devices d ON d.device_id = r.device_id
WHERE d.site_id = :site AND r.recorded_at >= :since GROUP BY 1 ORDER BY 1;

-- name: window_all_devices weight=1
-- params: since = recent(readings.recorded_at, days=1)
SELECT count(*) AS readings, avg(value) AS mean_value FROM readings WHERE recorded_at >= :since;

-- name: low_quality weight=1
SELECT device_id, count(*) AS bad FROM readings WHERE quality < 50 GROUP BY device_id ORDER BY bad DESC LIMIT 10;

-- name: device_history weight=1
-- params: device = pick(devices.device_id)
SELECT count(*) AS readings, max(recorded_at) AS latest FROM readings WHERE device_id = :device;
