-- The denormalized alternative: order lines carry the product's name, so reading an order needs no join.
CREATE TABLE order_lines AS
SELECT i.order_id, i.line_no, i.product_id, p.name AS product_name, i.quantity, i.unit_price
FROM order_items i JOIN products p ON p.product_id = i.product_id;

CREATE INDEX order_lines_order_id_idx ON order_lines (order_id, line_no);
