-- The ecommerce workload: what the shop's API and back office run, with relative weights.

-- name: product_search weight=5
-- params: term = word(products.name)
SELECT * FROM products WHERE name ILIKE '%' || :term || '%' ORDER BY created_at DESC LIMIT 20;

-- name: product_page weight=20
-- params: id = pick(products.product_id, skew=1.1)
SELECT p.product_id, p.name, p.price, avg(r.rating) AS rating, count(r.review_id) AS reviews
FROM products p LEFT JOIN reviews r ON r.product_id = p.product_id
WHERE p.product_id = :id
GROUP BY p.product_id, p.name, p.price;

-- name: customer_orders weight=10
-- params: customer = pick(customers.customer_id, skew=1.2)
SELECT order_id, status, ordered_at, total FROM orders
WHERE customer_id = :customer ORDER BY ordered_at DESC LIMIT 20;

-- name: order_detail weight=8
-- params: id = pick(orders.order_id)
SELECT i.line_no, p.name, i.quantity, i.unit_price
FROM order_items i JOIN products p ON p.product_id = i.product_id
WHERE i.order_id = :id ORDER BY i.line_no;

-- name: recent_revenue weight=1
-- params: since = recent(orders.ordered_at, days=30)
SELECT date_trunc('day', ordered_at) AS day, count(*) AS orders, sum(total) AS revenue
FROM orders WHERE ordered_at >= :since AND status <> 'cancelled'
GROUP BY 1 ORDER BY 1;

-- name: low_stock weight=1
-- params: threshold = between(1, 10)
SELECT p.sku, p.name, w.name AS warehouse, i.quantity
FROM inventory i JOIN products p ON p.product_id = i.product_id JOIN warehouses w ON w.warehouse_id = i.warehouse_id
WHERE i.quantity < :threshold ORDER BY i.quantity LIMIT 50;

-- name: top_products weight=1
SELECT p.product_id, p.name, sum(i.quantity) AS sold
FROM order_items i JOIN products p ON p.product_id = i.product_id
GROUP BY p.product_id, p.name ORDER BY sold DESC LIMIT 10;

-- name: restock weight=2
-- params: product = pick(inventory.product_id); qty = between(1, 20)
UPDATE inventory SET quantity = quantity + :qty, updated_at = now() WHERE product_id = :product;
