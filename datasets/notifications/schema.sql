-- Notifications: users subscribe to notification types on channels, with preferences,
-- and every delivery attempt is recorded with its status.

CREATE TABLE users (
    user_id     bigint PRIMARY KEY,
    email       varchar(254) NOT NULL UNIQUE,
    name        text NOT NULL,
    timezone    text NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notification_types (
    type_id     smallint PRIMARY KEY,
    code        varchar(40) NOT NULL UNIQUE,
    description text,
    default_channel text NOT NULL CHECK (default_channel IN ('email', 'sms', 'push'))
);

CREATE TABLE subscriptions (
    user_id     bigint NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    type_id     smallint NOT NULL REFERENCES notification_types (type_id),
    channel     text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, type_id, channel)
);

CREATE TABLE preferences (
    user_id     bigint PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
    quiet_from  time,
    quiet_until time,
    digest      text NOT NULL DEFAULT 'none' CHECK (digest IN ('none', 'daily', 'weekly')),
    settings    jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE deliveries (
    delivery_id bigint PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    type_id     smallint NOT NULL REFERENCES notification_types (type_id),
    channel     text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    status      text NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'failed', 'bounced')),
    attempts    smallint NOT NULL DEFAULT 1 CHECK (attempts BETWEEN 1 AND 10),
    created_at  timestamptz NOT NULL,
    delivered_at timestamptz
);

CREATE INDEX deliveries_user_created_idx ON deliveries (user_id, created_at DESC);
CREATE INDEX deliveries_pending_idx ON deliveries (created_at) WHERE status IN ('queued', 'failed');
