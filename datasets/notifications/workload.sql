-- The notifications workload: the sender polls pending deliveries; users read their inbox.

-- name: pending_batch weight=10
SELECT delivery_id, user_id, type_id, channel FROM deliveries
WHERE status IN ('queued', 'failed') ORDER BY created_at LIMIT 100;

-- name: user_inbox weight=8
-- params: user = pick(users.user_id, skew=1.1)
SELECT d.delivery_id, t.code, d.status, d.created_at
FROM deliveries d JOIN notification_types t ON t.type_id = d.type_id
WHERE d.user_id = :user ORDER BY d.created_at DESC LIMIT 20;

-- name: subscribers weight=2
-- params: type = pick(notification_types.type_id)
SELECT s.user_id, s.channel FROM subscriptions s JOIN preferences p ON p.user_id = s.user_id
WHERE s.type_id = :type AND s.enabled AND p.digest = 'none';

-- name: delivery_rate weight=1
SELECT channel, status, count(*) AS deliveries FROM deliveries GROUP BY channel, status ORDER BY channel, status;
