-- IoT time series: a few thousand devices, each reporting readings every few minutes.
-- The base design is unpartitioned; partitioning variants are generated from this model.

CREATE TABLE sites (
    site_id     integer PRIMARY KEY,
    name        text NOT NULL,
    country     char(2) NOT NULL,
    latitude    double precision,
    longitude   double precision
);

CREATE TABLE devices (
    device_id   integer PRIMARY KEY,
    site_id     integer NOT NULL REFERENCES sites (site_id),
    kind        text NOT NULL CHECK (kind IN ('thermometer', 'hygrometer', 'power_meter', 'gps')),
    serial      varchar(24) NOT NULL UNIQUE,
    installed_at timestamptz NOT NULL
);

CREATE TABLE readings (
    device_id   integer NOT NULL REFERENCES devices (device_id),
    recorded_at timestamptz NOT NULL,
    value       double precision NOT NULL,
    quality     smallint NOT NULL DEFAULT 100 CHECK (quality BETWEEN 0 AND 100),
    PRIMARY KEY (device_id, recorded_at)
);

CREATE INDEX readings_recorded_at_idx ON readings (recorded_at);
