-- The multitenant workload: every API call is scoped to one tenant; the catalog is shared.

-- name: tenant_recent_orders weight=10
-- params: tenant = pick(tenants.tenant_id, skew=1.1)
SELECT order_id, customer_id, status, ordered_at, total FROM orders
WHERE tenant_id = :tenant ORDER BY ordered_at DESC LIMIT 20;

-- name: customer_orders weight=8
-- params: tenant = pick(customers.tenant_id); customer = pick(customers.customer_id, skew=1.1)
SELECT o.order_id, o.status, o.total FROM orders o
WHERE o.tenant_id = :tenant AND o.customer_id = :customer ORDER BY o.ordered_at DESC;

-- name: tenant_revenue weight=1
-- params: tenant = pick(tenants.tenant_id)
SELECT date_trunc('month', ordered_at) AS month, sum(total) AS revenue
FROM orders WHERE tenant_id = :tenant AND status <> 'cancelled' GROUP BY 1 ORDER BY 1;

-- name: catalog_lookup weight=5
-- params: sku = pick(products.sku)
SELECT product_id, name, price FROM products WHERE sku = :sku;
