-- The shop's storefront as a cache sees it: product pages and searches read by shoppers, order
-- history, the back office's best sellers; price changes, new reviews and restocks change them.

-- name: product_page weight=40
-- params: id = pick(products.product_id, skew=1.1)
SELECT p.product_id, p.name, p.price, avg(r.rating) AS rating, count(r.review_id) AS reviews
FROM products p LEFT JOIN reviews r ON r.product_id = p.product_id
WHERE p.product_id = :id
GROUP BY p.product_id, p.name, p.price;

-- name: product_search weight=15
-- params: term = word(products.name)
SELECT product_id, name, price FROM products WHERE name ILIKE '%' || :term || '%' ORDER BY created_at DESC LIMIT 20;

-- name: customer_orders weight=10
-- params: customer = pick(customers.customer_id, skew=1.2)
SELECT order_id, status, ordered_at, total FROM orders
WHERE customer_id = :customer ORDER BY ordered_at DESC LIMIT 20;

-- name: order_detail weight=5
-- params: id = pick(orders.order_id)
SELECT i.line_no, p.name, i.quantity, i.unit_price
FROM order_items i JOIN products p ON p.product_id = i.product_id
WHERE i.order_id = :id ORDER BY i.line_no;

-- name: top_products weight=1
SELECT p.product_id, p.name, sum(i.quantity) AS sold
FROM order_items i JOIN products p ON p.product_id = i.product_id
GROUP BY p.product_id, p.name ORDER BY sold DESC LIMIT 10;

-- name: price_change weight=1
-- params: id = pick(products.product_id, skew=1.1); factor = choice(0.95, 1.05)
UPDATE products SET price = round(price * :factor, 2) WHERE product_id = :id;

-- name: new_review weight=1
-- (review_id from max + 1: a bulk load leaves the table's sequence at 1)
-- params: product = pick(products.product_id, skew=1.1); customer = pick(customers.customer_id); rating = between(1, 5)
INSERT INTO reviews (review_id, product_id, customer_id, rating, body, created_at)
VALUES ((SELECT max(review_id) + 1 FROM reviews), :product, :customer, :rating, 'a review', now());
