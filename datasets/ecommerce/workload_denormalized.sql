-- The study's query against the denormalized order_lines: same names, same answers, no join.

-- name: order_detail
-- params: id = pick(orders.order_id)
SELECT line_no, product_name AS name, quantity, unit_price
FROM order_lines WHERE order_id = :id ORDER BY line_no;
