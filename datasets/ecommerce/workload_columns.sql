-- The document study's questions asked of the products table's columns (the baseline's statements).

-- name: product_by_id
-- params: id = pick(products.product_id)
SELECT product_id, sku, name, category_id, price FROM products WHERE product_id = :id;

-- name: category_under_price
-- params: category = pick(products.category_id); cap = between(20, 80)
SELECT product_id, price FROM products WHERE category_id = :category AND price < :cap ORDER BY product_id;

-- name: product_by_sku
-- params: sku = pick(products.sku)
SELECT product_id, name FROM products WHERE sku = :sku;
